package harness

import (
	"bufio"
	"net"
	"testing"
)

// RawServer listens on a loopback port until the test ends and serves
// each connection it accepts with serve (its own goroutine; the
// connection is closed when serve returns). serve gets the connection's
// index (0 for the first) and a reader on it. It returns host:port. For
// peers that must send what net/http's server would not: a framing of
// their own, a head broken off, a protocol upgrade.
func RawServer(t testing.TB, serve func(i int, c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(i, c, bufio.NewReader(c))
			}()
		}
	}()
	return ln.Addr().String()
}
