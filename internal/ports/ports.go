// Package ports picks free loopback ports for processes that bind them a
// moment later: replicas of the process runtime, and the servers tests
// start. Ports come from below the kernel's ephemeral range (32768+), so
// between the pick and the bind no ":0" listener or outgoing connection on
// the machine can be given the port; recently picked ones are not handed
// out twice.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// The range ports are picked from: [Min, Min+Span).
const Min, Span = 20000, 12000

var recent = struct {
	sync.Mutex
	ring [64]int
	n    int
}{}

// Free returns a 127.0.0.1 port that was free a moment ago.
func Free() (int, error) {
	for range 64 {
		port := Min + rand.IntN(Span)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // taken
		}
		l.Close()
		if remember(port) {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free loopback port found in %d-%d", Min, Min+Span)
}

// remember records port unless it was handed out recently.
func remember(port int) bool {
	recent.Lock()
	defer recent.Unlock()
	for _, p := range recent.ring {
		if p == port {
			return false
		}
	}
	recent.ring[recent.n%len(recent.ring)] = port
	recent.n++
	return true
}
