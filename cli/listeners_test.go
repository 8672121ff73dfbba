package cli

import (
	"errors"
	"net"
	"testing"
)

// Connections to either listener are accepted; Close ends both.
func TestJoinListeners(t *testing.T) {
	a, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	j := joinListeners(a, b)
	if j.Addr() != a.Addr() {
		t.Errorf("Addr %v, want the first listener's %v", j.Addr(), a.Addr())
	}
	for _, ln := range []net.Listener{a, b} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := j.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if s.LocalAddr().String() != ln.Addr().String() {
			t.Errorf("accepted on %v, want %v", s.LocalAddr(), ln.Addr())
		}
		s.Close()
		c.Close()
	}
	j.Close()
	if _, err := j.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	for _, ln := range []net.Listener{a, b} {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
			t.Errorf("%v still accepts after Close", ln.Addr())
		}
	}
}
