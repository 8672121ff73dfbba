package rawsyscallconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pair returns a wrapped client connection and the server's plain end.
func pair(t testing.TB) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(acc)
			return
		}
		acc <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, ok := <-acc
	if !ok {
		t.Fatal("accept failed")
	}
	w, ok := Wrap(c).(*Conn)
	if !ok {
		t.Fatalf("Wrap(%T) did not wrap", c)
	}
	t.Cleanup(func() { w.Close(); s.Close() })
	return w, s
}

func TestReadWriteAndEOF(t *testing.T) {
	c, s := pair(t)
	if n, err := c.Write([]byte("ping")); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	buf := make([]byte, 16)
	if n, err := io.ReadFull(s, buf[:4]); n != 4 || err != nil || string(buf[:4]) != "ping" {
		t.Fatalf("peer read %q, %v", buf[:n], err)
	}
	s.Write([]byte("pong"))
	if n, err := io.ReadFull(c, buf[:4]); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if n, err := c.Read(nil); n != 0 || err != nil {
		t.Fatalf("empty Read = %d, %v", n, err)
	}
	if n, err := c.Write(nil); n != 0 || err != nil {
		t.Fatalf("empty Write = %d, %v", n, err)
	}
	s.Close()
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after peer close = %d, %v; want io.EOF", n, err)
	}
}

// A write larger than the socket buffers must wait for the reader and
// still deliver every byte in order.
func TestLargeWriteWaitsForSpace(t *testing.T) {
	c, s := pair(t)
	want := make([]byte, 16<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(s)
		got <- b
	}()
	if n, err := c.Write(want); n != len(want) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	c.CloseWrite()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer got %d bytes, want %d equal ones", len(b), len(want))
	}
}

func TestDeadlineAndClose(t *testing.T) {
	c, _ := pair(t)
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past deadline = %v; want a timeout", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" {
		t.Fatalf("error %v is not a read *net.OpError", err)
	}
	c.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read interrupted by Close = %v; want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not interrupt a blocked Read")
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v; want net.ErrClosed", err)
	}
}

// A peer's reset reaches the caller as ECONNRESET, which the gateway's
// stale-connection check looks for.
func TestResetIsReported(t *testing.T) {
	c, s := pair(t)
	s.(*net.TCPConn).SetLinger(0)
	s.Close()
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read after reset = %v; want ECONNRESET", err)
	}
}

// Reads and writes may run at once on two goroutines, as in a tunnel or
// a server watching for its caller while it answers.
func TestConcurrentReadAndWrite(t *testing.T) {
	c, s := pair(t)
	go io.Copy(s, s) // the peer echoes
	const rounds = 2000
	msg := []byte("0123456789abcdef")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range rounds {
			if _, err := c.Write(msg); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	got := make([]byte, rounds*len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if want := bytes.Repeat(msg, rounds); !bytes.Equal(got, want) {
		t.Fatal("echoed bytes differ")
	}
}

func TestNonSocketIsReturnedAsIs(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if Wrap(a) != a {
		t.Fatal("a net.Pipe end was wrapped")
	}
}

func TestListenerWraps(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Listener{ln}
	defer l.Close()
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*Conn); !ok {
		t.Fatalf("Accept returned %T", c)
	}
	if b, err := io.ReadAll(c); err != nil || string(b) != "hi" {
		t.Fatalf("ReadAll = %q, %v", b, err)
	}
}

// The point of the package: a call's read and write allocate nothing.
func TestNoAllocations(t *testing.T) {
	c, s := pair(t)
	go io.Copy(s, s)
	msg := []byte("hello")
	buf := make([]byte, len(msg))
	allocs := testing.AllocsPerRun(200, func() {
		c.Write(msg)
		io.ReadFull(c, buf)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per write and read; want 0", allocs)
	}
}

// BenchmarkPingPong compares a round trip over loopback through a
// wrapped connection with the same through the plain net.Conn.
func BenchmarkPingPong(b *testing.B) {
	for _, raw := range []bool{false, true} {
		name := "net"
		if raw {
			name = "raw"
		}
		b.Run(name, func(b *testing.B) {
			c, s := pair(b)
			var cc net.Conn = c.Conn
			if raw {
				cc = c
			}
			go io.Copy(s, s)
			msg, buf := []byte("ping"), make([]byte, 4)
			b.ReportAllocs()
			for b.Loop() {
				cc.Write(msg)
				io.ReadFull(cc, buf)
			}
			c.Close()
			s.Close()
		})
	}
}
