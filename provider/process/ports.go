package process

import "github.com/ferryfaas/ferry/internal/ports"

// freePort picks a free loopback port for a watchdog (or its function) to
// bind.
func freePort() (int, error) { return ports.Free() }

// unixSocket names the Unix socket a replica's watchdog also serves on,
// an abstract name (Linux only: nothing on disk to clean up after a
// crash, no path length limit to fear). Its TCP port makes it unique
// while the watchdog lives; the data dir's hash keeps two Ferry servers
// on one machine apart. Loopback TCP costs each call's two hops to the
// replica about 2.5 µs more on the bench machine.
func (p *Provider) unixSocket(port int) string {
	if !isLinux {
		return ""
	}
	return "@ferry/" + p.dirID + "/" + itoa(port)
}
