package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
)

// chunkResult is what a ChunkScanner made of a whole input: where the
// body ended (-1: not yet), or that it is malformed.
type chunkResult struct {
	end int
	err bool
}

func (r chunkResult) String() string {
	if r.err {
		return "error"
	}
	if r.end < 0 {
		return "incomplete"
	}
	return fmt.Sprintf("end at %d", r.end)
}

// chunkFeed scans b with a fresh scanner in the pieces that the offsets
// cuts (ascending) split it into, and checks the scanner's contract on
// each feed: a feed that does not end the body is consumed whole, a feed
// that does consumes a prefix of itself, and an error consumes nothing.
func chunkFeed(t testing.TB, b []byte, cuts ...int) chunkResult {
	t.Helper()
	var s ChunkScanner
	off := 0
	for i := 0; i <= len(cuts); i++ {
		hi := len(b)
		if i < len(cuts) {
			hi = cuts[i]
		}
		piece := b[off:hi]
		n, done, err := s.Scan(piece)
		switch {
		case err != nil:
			if n != 0 || done {
				t.Fatalf("scan(%q) (cuts %v) = %d, %v, %v: an error with bytes consumed or done", piece, cuts, n, done, err)
			}
			if !errors.Is(err, ErrChunked) {
				t.Fatalf("scan error %v, want ErrChunked", err)
			}
			return chunkResult{err: true}
		case done:
			if n < 0 || n > len(piece) {
				t.Fatalf("scan(%q) = %d, done: out of range", piece, n)
			}
			return chunkResult{end: off + n}
		case n != len(piece):
			t.Fatalf("scan(%q) (cuts %v) = %d, false, nil: want the whole feed (%d) consumed", piece, cuts, n, len(piece))
		}
		off = hi
	}
	return chunkResult{end: -1}
}

// checkChunkSplits checks that scanning b in 2 feeds (split at every byte
// boundary) and, when b is short enough, in 3 feeds (every pair of
// boundaries) gives the same result as scanning it whole. Inputs over
// 512 bytes are split at every boundary near their ends and at about 200
// others (the long inputs are the limit cases: the test stays fast).
func checkChunkSplits(t testing.TB, b []byte, want chunkResult) {
	t.Helper()
	stride := max(17, len(b)/200)
	for i := 0; i <= len(b); i++ {
		if len(b) > 512 && i > 64 && i < len(b)-64 && i%stride != 0 {
			continue
		}
		if got := chunkFeed(t, b, i); got != want {
			t.Fatalf("%q split at %d: %v, whole: %v", b, i, got, want)
		}
	}
	if len(b) > 160 {
		return
	}
	for i := 0; i <= len(b); i++ {
		for j := i; j <= len(b); j++ {
			if got := chunkFeed(t, b, i, j); got != want {
				t.Fatalf("%q split at %d and %d: %v, whole: %v", b, i, j, got, want)
			}
		}
	}
}

func TestChunkScannerBodies(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name string
		body string
	}{
		{"empty body", "0\r\n\r\n"},
		{"single chunk", "5\r\nhello\r\n0\r\n\r\n"},
		{"many chunks", "1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\na\r\n0123456789\r\n0\r\n\r\n"},
		{"upper and lower case hex", "A\r\n0123456789\r\nb\r\n0123456789a\r\n0\r\n\r\n"},
		{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n"},
		{"large chunk", "12c\r\n" + long + "\r\n0\r\n\r\n"},
		{"data holding CR and LF", "6\r\n\r\n\r\n\n\r\r\n0\r\n\r\n"},
		{"data that looks like the last chunk", "5\r\n0\r\n\r\n\r\n0\r\n\r\n"},
		{"extension", "5;name=value\r\nhello\r\n0\r\n\r\n"},
		{"extensions with quoted string", "5;a=b;c=\"d; e\\\"f\"\r\nhello\r\n0;last\r\n\r\n"},
		{"extension after whitespace", "5 ;a\r\nhello\r\n0\t;b\r\n\r\n"},
		{"trailing whitespace on the size line", "5 \t \r\nhello\r\n0 \r\n\r\n"},
		{"obs-text and DEL in an extension", "5;x=\x80\xff\x7f\r\nhello\r\n0\r\n\r\n"},
		{"trailer", "5\r\nhello\r\n0\r\nX-Sum: abc\r\n\r\n"},
		{"trailers", "5\r\nhello\r\n0\r\nX-Sum: abc\r\nX-Other: d e f\r\nX-Empty:\r\n\r\n"},
		{"trailer continuation line", "0\r\nX-A: b\r\n  c\r\n\r\n"},
		{"trailer line of one space", "0\r\nX-A: b\r\n \r\n\r\n"},
		{"bare LF everywhere", "5\nhello\n3;e\nabc\n0\nX-A: b\n\n"},
		{"bare LF after the data", "5\r\nhello\n0\r\n\r\n"},
		{"bare LF terminator", "0\r\n\n"},
		{"mixed line endings in trailers", "0\r\nX-A: b\nX-C: d\r\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.body)
			want := chunkResult{end: len(b)}
			if got := chunkFeed(t, b); got != want {
				t.Fatalf("scan(%q): %v, want %v", b, got, want)
			}
			// Every split gives the same end.
			checkChunkSplits(t, b, want)
			// Every strict prefix is incomplete, not an error.
			for i := 0; i < len(b); i++ {
				if got := chunkFeed(t, b[:i]); got != (chunkResult{end: -1}) {
					t.Fatalf("prefix %q: %v, want incomplete", b[:i], got)
				}
			}
			// Bytes after the end (a pipelined response, garbage) are not
			// consumed, however they arrive.
			for _, after := range []string{"HTTP/1.1 200 OK\r\n\r\n", "\r\n", "0\r\n\r\n", "\x00garbage\n"} {
				ba := append(append([]byte(nil), b...), after...)
				checkChunkSplits(t, ba, want)
			}
		})
	}
}

func TestChunkScannerMalformed(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"empty size line", "\r\n"},
		{"empty size line, bare LF", "\n"},
		{"no digits before an extension", ";ext\r\n"},
		{"no digits before whitespace", " 5\r\nhello\r\n0\r\n\r\n"},
		{"sign", "+5\r\nhello\r\n"},
		{"hex prefix", "0x5\r\nhello\r\n"},
		{"bad hex digit", "g\r\n"},
		{"bad hex digit after digits", "5g\r\nhello\r\n"},
		{"digit after the size ended", "5z3\r\n"},
		{"data not followed by CRLF", "5\r\nhelloX\r\n0\r\n\r\n"},
		{"data followed by CR and a byte", "5\r\nhello\rX\n0\r\n\r\n"},
		{"data followed by two CRs", "5\r\nhello\r\r\n0\r\n\r\n"},
		{"data followed by the next size", "5\r\nhello5\r\nhello\r\n0\r\n\r\n"},
		{"control character in an extension", "5;a\x01b\r\nhello\r\n0\r\n\r\n"},
		{"NUL in an extension", "5;\x00\r\nhello\r\n"},
		{"vertical tab after the size", "5\x0b\r\nhello\r\n"},
		{"oversized size line (extension)", "5;" + strings.Repeat("a", MaxChunkLine) + "\r\nhello\r\n0\r\n\r\n"},
		{"oversized size line (zeros)", strings.Repeat("0", MaxChunkLine+1) + "5\r\n"},
		{"oversized trailer line", "0\r\nX-A: " + strings.Repeat("b", MaxChunkLine) + "\r\n\r\n"},
		{"oversized trailer section", "0\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 1000)+"\r\n", MaxTrailers/1000+1) + "\r\n"},
		{"overflowing size (16 digits, 2^63)", "8000000000000000\r\n"},
		{"overflowing size (16 digits, max)", "ffffffffffffffff\r\n"},
		{"overflowing size (17 digits)", "10000000000000000\r\n"},
		{"overflowing size (many digits)", strings.Repeat("f", 40) + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.body)
			want := chunkResult{err: true}
			if got := chunkFeed(t, b); got != want {
				t.Fatalf("scan(%.80q): %v, want an error", b, got)
			}
			checkChunkSplits(t, b, want)
		})
	}
}

// TestChunkScannerLimits checks the bounds just inside and outside each
// limit: a size line of MaxChunkLine bytes before its LF is taken (its CR
// counts, its LF does not), as net/http's reader takes 4095 bytes before
// CRLF; sizes up to 2^63-1 are taken.
func TestChunkScannerLimits(t *testing.T) {
	ext := func(n int) string { return "1;" + strings.Repeat("e", n-2) } // a size line of n bytes before CRLF
	tests := []struct {
		name string
		body string
		want chunkResult
	}{
		{"size line of 4095 bytes and CRLF", ext(MaxChunkLine-1) + "\r\nx\r\n0\r\n\r\n", chunkResult{end: -2}},
		{"size line of 4096 bytes and CRLF", ext(MaxChunkLine) + "\r\nx\r\n0\r\n\r\n", chunkResult{err: true}},
		{"size line of 4096 bytes and LF", ext(MaxChunkLine) + "\nx\r\n0\r\n\r\n", chunkResult{end: -2}},
		{"size line of 4097 bytes and LF", ext(MaxChunkLine+1) + "\nx\r\n0\r\n\r\n", chunkResult{err: true}},
		{"trailer line of 4095 bytes and CRLF", "0\r\nX:" + strings.Repeat("v", MaxChunkLine-3) + "\r\n\r\n", chunkResult{end: -2}},
		{"trailer line of 4096 bytes and CRLF", "0\r\nX:" + strings.Repeat("v", MaxChunkLine-2) + "\r\n\r\n", chunkResult{err: true}},
		{"largest size", "7fffffffffffffff\r\nabc", chunkResult{end: -1}},
		{"largest size, leading zeros", "000007fffffffffffffff\r\nabc", chunkResult{end: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.body)
			want := tt.want
			if want.end == -2 {
				want.end = len(b)
			}
			if got := chunkFeed(t, b); got != want {
				t.Fatalf("%v, want %v", got, want)
			}
			for _, i := range []int{1, 2, len(b) / 2, len(b) - 3, len(b) - 1} {
				if got := chunkFeed(t, b, i); got != want {
					t.Fatalf("split at %d: %v, want %v", i, got, want)
				}
			}
		})
	}
	// The trailer section is bounded as a whole too: just under the
	// limit passes.
	line := "X-A: " + strings.Repeat("b", 1000) + "\r\n"
	n := (MaxTrailers - 2) / len(line)
	b := []byte("0\r\n" + strings.Repeat(line, n) + "\r\n")
	if got := chunkFeed(t, b); got != (chunkResult{end: len(b)}) {
		t.Fatalf("trailer section of %d bytes: %v", len(b)-3, got)
	}
}

// TestChunkScannerLongChunkManyFeeds feeds a large chunk a few bytes at a
// time: the data count is carried across feeds.
func TestChunkScannerLongChunkManyFeeds(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef\r\n"), 4000)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%x\r\n", len(data))
	b.Write(data)
	b.WriteString("\r\n0\r\n\r\nNEXT")
	var s ChunkScanner
	in := b.Bytes()
	off := 0
	for step := 1; off < len(in); step = step%7 + 1 {
		hi := min(off+step, len(in))
		n, done, err := s.Scan(in[off:hi])
		if err != nil {
			t.Fatalf("at %d: %v", off, err)
		}
		if done {
			if got, want := off+n, len(in)-len("NEXT"); got != want {
				t.Fatalf("end at %d, want %d", got, want)
			}
			return
		}
		off = hi
	}
	t.Fatal("the body never ended")
}

// TestChunkScannerAgreesWithNetHTTPWriter encodes random bodies and
// trailers with net/http's chunked writer: the scanner finds each end.
func TestChunkScannerAgreesWithNetHTTPWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		var b bytes.Buffer
		w := httputil.NewChunkedWriter(&b)
		for n := rng.IntN(6); n > 0; n-- {
			p := make([]byte, rng.IntN(3000))
			for i := range p {
				p[i] = byte(rng.IntN(256))
			}
			w.Write(p)
		}
		w.Close() // the last chunk, without trailers and the final CRLF
		for n := rng.IntN(3); n > 0; n-- {
			fmt.Fprintf(&b, "X-T%d: %d\r\n", n, rng.Int())
		}
		b.WriteString("\r\n")
		end := b.Len()
		b.WriteString("HTTP/1.1 200 OK\r\n") // the next response
		in := b.Bytes()
		want := chunkResult{end: end}
		if got := chunkFeed(t, in); got != want {
			t.Fatalf("iteration %d: %v, want %v", iter, got, want)
		}
		cuts := chunkRandomCuts(rng, len(in))
		if got := chunkFeed(t, in, cuts...); got != want {
			t.Fatalf("iteration %d, cuts %v: %v, want %v", iter, cuts, got, want)
		}
	}
}

// chunkRandomCuts returns up to 8 ascending split offsets in [0, n].
func chunkRandomCuts(rng *rand.Rand, n int) []int {
	cuts := make([]int, rng.IntN(9))
	for i := range cuts {
		cuts[i] = rng.IntN(n + 1)
	}
	for i := 1; i < len(cuts); i++ { // insertion sort: few elements
		for j := i; j > 0 && cuts[j] < cuts[j-1]; j-- {
			cuts[j], cuts[j-1] = cuts[j-1], cuts[j]
		}
	}
	return cuts
}

// chunkNetReadBuf is the goroutine path's read buffer on replica connections
// (gateway's fast client): it bounds what net/http takes in a trailer
// section, as it does the loop's.
const chunkNetReadBuf = 8 << 10

// chunkNetEnd decodes b as a chunked body the way the goroutine path
// does (http.ReadResponse, then the body read to its end, trailers
// included) and returns how many bytes of b that consumed; ok is false if
// net/http rejects b or it is incomplete.
func chunkNetEnd(b []byte) (end int, ok bool) {
	const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	in := append([]byte(head), b...)
	rd := bytes.NewReader(in)
	br := bufio.NewReaderSize(rd, chunkNetReadBuf)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil || len(resp.TransferEncoding) != 1 {
		panic(fmt.Sprintf("the fixed head did not parse as chunked: %v", err))
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, false
	}
	return len(in) - rd.Len() - br.Buffered() - len(head), true
}

// chunkNetLastChunkEnd is where httputil's chunked reader stops: just after
// the last-chunk line (it reads no trailer section, not even the final
// CRLF).
func chunkNetLastChunkEnd(b []byte) (end int, ok bool) {
	rd := bytes.NewReader(b)
	br := bufio.NewReaderSize(rd, chunkNetReadBuf)
	if _, err := io.Copy(io.Discard, httputil.NewChunkedReader(br)); err != nil {
		return 0, false
	}
	return len(b) - rd.Len() - br.Buffered(), true
}

// chunkExtHasControl walks a chunked body net/http accepted (so: size
// lines of hex digits, optional ";extension", CRLF) up to its last chunk
// and reports whether an extension holds a control character other than
// HTAB, which the scanner rejects (RFC 9112's chunk-ext grammar, tokens
// and quoted strings, has none) and net/http lets through.
func chunkExtHasControl(b []byte) bool {
	for {
		i := bytes.Index(b, []byte("\r\n"))
		line := b[:i]
		size, ext, _ := bytes.Cut(line, []byte(";"))
		for _, c := range ext {
			if c < ' ' && c != '\t' {
				return true
			}
		}
		size = bytes.TrimRight(size, " \t")
		var n uint64
		for _, c := range size {
			n = n<<4 | uint64(hexVal(c))
		}
		if n == 0 {
			return false
		}
		b = b[i+2+int(n)+2:]
	}
}

// chunkLongTrailerLine reports whether the trailer section after the
// last-chunk line (b from there) has a line longer than the scanner's
// MaxChunkLine bound; net/http bounds only the whole section, by its
// read buffer (8 KiB here).
func chunkLongTrailerLine(b []byte) bool {
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte("\n"))
		if len(line) > MaxChunkLine { // the bytes before its LF, CR included
			return true
		}
		if len(bytes.TrimSuffix(line, []byte("\r"))) == 0 {
			return false
		}
		b = rest
	}
	return false
}

// FuzzChunkScannerAgreesWithNetHTTP: whatever net/http decodes as a
// chunked body (the goroutine path's reading of it), the scanner ends at
// the same byte; and the scanner's result never depends on how its input
// is split into feeds.
//
// net/http reads a chunked body in two steps: its chunked reader
// (httputil.NewChunkedReader) stops right after the last-chunk line
// ("0\r\n"), and the response body then reads the trailer section up to
// and including its empty line. Both are checked: the scanner is still
// waiting where the chunked reader stops, and ends where the body read
// ends.
//
// Inputs skipped (net/http accepts them, the scanner deliberately does
// not; the scanner's side is the stricter one, and the loop answers them
// with a 502 or a closed connection, never with a wrong framing):
//   - a chunk extension holding a control character other than HTAB
//     (net/http never parses extensions);
//   - a trailer line over MaxChunkLine bytes (net/http bounds the trailer
//     section only as a whole, by its read buffer).
//
// The other way round the scanner is more lenient, by design (it passes
// the bytes through unchanged; the caller judges them), and that is not
// compared: bare LF line endings, whitespace before ';', more than 16 hex
// digits (leading zeros), trailer lines net/http refuses (no colon, a
// line of CRs taken as the empty one), trailer sections over net/http's
// read buffer, chunk overhead that net/http counts as abuse.
func FuzzChunkScannerAgreesWithNetHTTP(f *testing.F) {
	for _, s := range []string{
		"0\r\n\r\n",
		"5\r\nhello\r\n0\r\n\r\n",
		"5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n",
		"5\r\nhello\r\n0\r\nX-Sum: abc\r\nX-B: c\r\n\r\n",
		"0\r\nX-A: b\r\n c\r\n\r\nNEXT",
		"A\r\n0123456789\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"5 \r\nhello\r\n0\r\n\r\n",
		"5\nhello\n0\n\n",
		"5\r\nhelloXX0\r\n\r\n",
		"0\r\n\n",
		"5;\x01\r\nhello\r\n0\r\n\r\n",
		"0\r\n\r\r\n",
		"ffffffffffffffff\r\n",
		"0000000000000000005\r\nhello\r\n0\r\n\r\n",
		"1;" + strings.Repeat("e", 4093) + "\r\nx\r\n0\r\n\r\n",
		"0\r\nX:" + strings.Repeat("v", 4093) + "\r\n\r\n",
	} {
		f.Add([]byte(s), uint64(len(s)))
	}
	f.Fuzz(func(t *testing.T, b []byte, seed uint64) {
		if outcome := checkChunkAgainstNetHTTP(t, b, seed); strings.HasPrefix(outcome, "skip") {
			t.Skip(outcome)
		}
	})
}

// checkChunkAgainstNetHTTP is FuzzChunkScannerAgreesWithNetHTTP's check;
// it reports which way it went ("skip: ..." for the excluded inputs).
func checkChunkAgainstNetHTTP(t testing.TB, b []byte, seed uint64) (outcome string) {
	t.Helper()
	whole := chunkFeed(t, b)

	// Splitting never changes the result.
	rng := rand.New(rand.NewPCG(seed, uint64(len(b))))
	for range 4 {
		cuts := chunkRandomCuts(rng, len(b))
		if got := chunkFeed(t, b, cuts...); got != whole {
			t.Fatalf("%q: cuts %v: %v, whole: %v", b, cuts, got, whole)
		}
	}

	last, ok := chunkNetLastChunkEnd(b)
	if !ok {
		return "net/http rejects the chunks"
	}
	if chunkExtHasControl(b[:last]) {
		return "skip: control character in a chunk extension, rejected by the scanner only"
	}
	// Up to the last-chunk line, the scanner takes it all and waits for
	// the trailer section.
	if got := chunkFeed(t, b[:last]); got != (chunkResult{end: -1}) {
		t.Fatalf("%q: net/http's chunked reader ends its chunks at %d, the scanner on those bytes: %v", b, last, got)
	}
	end, ok := chunkNetEnd(b)
	if !ok {
		return "net/http rejects the trailer section"
	}
	if chunkLongTrailerLine(b[last:]) {
		return "skip: trailer line over MaxChunkLine, rejected by the scanner only"
	}
	if want := (chunkResult{end: end}); whole != want {
		t.Fatalf("%q: net/http ends the body at %d (last chunk at %d), the scanner: %v", b, end, last, whole)
	}
	return "agree"
}

// TestChunkScannerAgreesWithNetHTTPOnGeneratedBodies runs the fuzz
// target's check on chunked bodies built from the grammar with random
// deviations (line endings, whitespace, extensions, control characters,
// short or long data, trailers, continuation lines, long lines), which
// reach net/http's acceptance far more often than byte-level mutation.
func TestChunkScannerAgreesWithNetHTTPOnGeneratedBodies(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(common string, others ...string) string {
		if rng.IntN(6) > 0 {
			return common
		}
		return others[rng.IntN(len(others))]
	}
	eol := func() string { return pick("\r\n", "\n", "\r\r\n", "\r", "\n\r\n") }
	sizeLine := func(n int) string {
		var b strings.Builder
		b.WriteString(pick("", "0", "00", strings.Repeat("0", 16)))
		h := fmt.Sprintf("%x", n)
		if rng.IntN(2) == 0 {
			h = strings.ToUpper(h)
		}
		b.WriteString(h)
		b.WriteString(pick("", " ", "\t", ";ext", ";a=\"b; c\"", " ;x", ";\x01", ";\x7f\x80", ";"+strings.Repeat("e", 4090+rng.IntN(8)), "\x0b", "z"))
		b.WriteString(eol())
		return b.String()
	}
	outcomes := map[string]int{}
	for iter := 0; iter < 4000; iter++ {
		var b strings.Builder
		for n := rng.IntN(4); n > 0; n-- {
			size := rng.IntN(20)
			if rng.IntN(8) == 0 {
				size = rng.IntN(5000)
			}
			b.WriteString(sizeLine(size))
			data := make([]byte, max(size+chunkPickInt(rng, 0, -1, 1), 0))
			const alphabet = "ab\r\n0;: "
			for i := range data {
				data[i] = alphabet[rng.IntN(len(alphabet))]
			}
			b.Write(data)
			b.WriteString(pick("\r\n", "\n", "", "X\r\n", "\r\r\n"))
		}
		b.WriteString(sizeLine(0))
		for n := rng.IntN(4); n > 0; n-- {
			b.WriteString(pick("X-K: v", " cont", "\tcont", "NoColon", "K:\x01", "K: a\rb", "X-Long: "+strings.Repeat("v", 4086+rng.IntN(8)), "Trailer: X", "\r"))
			b.WriteString(eol())
		}
		b.WriteString(pick("\r\n", "\n", "\r\r\n", "", " \r\n\r\n"))
		b.WriteString(pick("", "HTTP/1.1 200 OK\r\n", "\r\n", "0\r\n\r\n"))
		in := []byte(b.String())
		if rng.IntN(10) == 0 && len(in) > 0 {
			in[rng.IntN(len(in))] = byte(rng.IntN(256))
		}
		outcomes[checkChunkAgainstNetHTTP(t, in, rng.Uint64())]++
	}
	t.Logf("outcomes: %v", outcomes)
	if outcomes["agree"] < 500 {
		t.Fatalf("only %d of the generated bodies were compared with net/http: %v", outcomes["agree"], outcomes)
	}
}

// chunkPickInt returns common five times in six, else one of others.
func chunkPickInt(rng *rand.Rand, common int, others ...int) int {
	if rng.IntN(6) > 0 {
		return common
	}
	return others[rng.IntN(len(others))]
}
