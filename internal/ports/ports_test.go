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
