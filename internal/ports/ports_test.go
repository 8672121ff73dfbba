package ports

import (
	"fmt"
	"net"
	"testing"
)

func TestFree(t *testing.T) {
	seen := map[int]bool{}
	for range 32 {
		p, err := Free()
		if err != nil {
			t.Fatal(err)
		}
		if p < Min || p >= Min+Span {
			t.Fatalf("port %d outside %d-%d", p, Min, Min+Span)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		l.Close()
	}
}

// A range every port of which is held (by any process of the machine)
// still gives a port: the kernel's choice.
func TestFreeWhenRangeFull(t *testing.T) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	// Eight consecutive ports this test can hold.
	base := 0
	for try := 0; try < 50 && base == 0; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		var ls []net.Listener
		for i := range 8 {
			if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i)); err == nil {
				ls = append(ls, l)
			}
		}
		if len(ls) == 8 {
			base, held = p, ls
		} else {
			for _, l := range ls {
				l.Close()
			}
		}
	}
	if base == 0 {
		t.Skip("no 8 consecutive free ports")
	}
	defer Restrict(base, 8)()
	p, err := Free()
	if err != nil {
		t.Fatalf("range full: %v", err)
	}
	if p >= base && p < base+8 {
		t.Fatalf("got held port %d", p)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatalf("port %d is not free: %v", p, err)
	}
	l.Close()
}
