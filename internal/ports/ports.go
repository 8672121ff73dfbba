// Package ports picks free loopback ports for processes that bind them a
// moment later: replicas of the process runtime, and the servers tests
// start. Ports come from below the kernel's ephemeral range (32768+), so
// between the pick and the bind no ":0" listener or outgoing connection on
// the machine can be given the port; recently picked ones are not handed
// out twice. Any process of the machine (a function among them) may bind
// ports of that range, even all of them: when no pick is free, the kernel
// chooses one, so a filled range never stops a replica from starting.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// The range ports are picked from by default: [Min, Min+Span).
const Min, Span = 20000, 12000

var recent = struct {
	sync.Mutex
	ring      [64]int
	n         int
	min, span int // the range in use (see Restrict)
}{min: Min, span: Span}

// Restrict makes Free pick from [min, min+span) until restore is called:
// for tests that fill the range, with a bounded number of sockets.
func Restrict(min, span int) (restore func()) {
	recent.Lock()
	defer recent.Unlock()
	oldMin, oldSpan := recent.min, recent.span
	recent.min, recent.span = min, span
	return func() {
		recent.Lock()
		recent.min, recent.span = oldMin, oldSpan
		recent.Unlock()
	}
}

// Free returns a 127.0.0.1 port that was free a moment ago.
func Free() (int, error) {
	recent.Lock()
	lo, span := recent.min, recent.span
	recent.Unlock()
	for range 64 {
		port := lo + rand.IntN(span)
		if listenable(port) && remember(port) {
			return port, nil
		}
	}
	// The range is full (or nearly): let the kernel choose.
	for range 8 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("no free loopback port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if remember(port) {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free loopback port found")
}

func listenable(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false // taken
	}
	l.Close()
	return true
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
