package process

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// recentPorts avoids handing the same port to two replicas starting at
// once (the kernel may give a just-closed port again before the first
// watchdog binds it).
var recentPorts = struct {
	sync.Mutex
	ring [64]int
	n    int
}{}

// Replica ports come from below the kernel's ephemeral range (32768+):
// between this check and the watchdog's (or function's) bind, no ":0"
// listener or outgoing connection on the machine can be given the port.
const portMin, portSpan = 20000, 12000

// freePort picks a free loopback port for a watchdog to bind.
func freePort() (int, error) {
	for range 64 {
		port := portMin + rand.IntN(portSpan)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // taken
		}
		l.Close()
		recentPorts.Lock()
		dup := false
		for _, p := range recentPorts.ring {
			dup = dup || p == port
		}
		if !dup {
			recentPorts.ring[recentPorts.n%len(recentPorts.ring)] = port
			recentPorts.n++
		}
		recentPorts.Unlock()
		if !dup {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free loopback port found in %d-%d", portMin, portMin+portSpan)
}
