package wire

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net/http/httputil"
	"testing"
)

// FuzzChunkWriterAgreesWithNetHTTP writes b as a chunked body in the
// pieces seed cuts it into (empty ones included) and checks the bytes
// against net/http's chunked writer, and that its chunked reader reads b
// back, the body ending where the writer ended it.
func FuzzChunkWriterAgreesWithNetHTTP(f *testing.F) {
	f.Add([]byte("hello"), uint64(1))
	f.Add([]byte(""), uint64(2))
	f.Add(bytes.Repeat([]byte("x"), 5000), uint64(3))
	f.Fuzz(func(t *testing.T, b []byte, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, uint64(len(b))))
		var pieces [][]byte
		for rest := b; ; {
			n := rng.IntN(len(rest) + 1)
			pieces = append(pieces, rest[:n])
			if rest = rest[n:]; len(rest) == 0 {
				break
			}
		}
		var got, want bytes.Buffer
		bw := bufio.NewWriterSize(&got, 16)
		cw := NewChunkedWriter(bw)
		nw := httputil.NewChunkedWriter(&want)
		for _, p := range pieces {
			if n, err := cw.Write(p); n != len(p) || err != nil {
				t.Fatalf("Write(%d bytes) = %d, %v", len(p), n, err)
			}
			nw.Write(p)
		}
		cw.Close()
		bw.Flush()
		nw.Close()
		want.WriteString("\r\n") // net/http's caller writes the empty trailer section
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("pieces %d: wrote %q, net/http %q", len(pieces), got.Bytes(), want.Bytes())
		}
		back, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(got.Bytes())))
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("read back %q, %v; want %q", back, err, b)
		}
		var s ChunkScanner
		if n, done, err := s.Scan(got.Bytes()); !done || err != nil || n != got.Len() {
			t.Fatalf("ChunkScanner: %d, %v, %v of %d bytes", n, done, err, got.Len())
		}
	})
}
