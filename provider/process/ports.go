package process

import (
	"fmt"
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

// freePort picks a free loopback port for a watchdog to bind.
func freePort() (int, error) {
	for range 16 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free loopback port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
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
	return 0, fmt.Errorf("no free loopback port found")
}
