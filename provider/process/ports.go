package process

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"

	"github.com/ferryfaas/ferry/internal/ports"
)

// freePort picks a free loopback port for an http-mode function to bind
// (its upstream port: a function's own server cannot inherit a socket).
func freePort() (int, error) { return ports.Free() }

// tcpListener binds a loopback TCP listener on a port the kernel chooses,
// for a replica's watchdog to inherit (FERRY_LISTEN_FD, FERRY_METRICS_FD).
// As with the Unix socket (see unixListener), Ferry keeps its copy open for
// the replica's whole life: any process of the machine may bind a free
// loopback port, so a port picked for the watchdog to bind later could be
// taken first (no replica) or, once the watchdog died, taken to receive the
// calls the gateway still sends it. Held, it is never free while the
// gateway may call it; and no range of ports can be used up.
func tcpListener() (port int, f *os.File, err error) {
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, nil, err
	}
	defer l.Close() // f is a duplicate: the socket stays open
	if f, err = l.File(); err != nil {
		return 0, nil, err
	}
	return l.Addr().(*net.TCPAddr).Port, f, nil
}

// unixListener binds a listening Unix socket for a replica's watchdog,
// which inherits it (FERRY_UNIX_FD) and serves calls on it besides its
// port: the gateway's event loops call through it, skipping the TCP/IP
// stack (loopback TCP costs each call's two hops to the replica about
// 2.5 µs more on the bench machine). The name is abstract (nothing on disk
// to clean up after a crash) and random: abstract names are open to every
// process of the machine, functions included, so a name they could guess
// could be taken before the replica starts (denying it its socket) or, once
// free, taken to receive its calls. Ferry binds it itself and keeps its
// copy open for the replica's whole life (the caller closes f when the
// replica is gone), so the name is never free while the gateway may
// dial it. "" and nil when there is none (not Linux, or binding failed).
func (p *Provider) unixListener() (name string, f *os.File) {
	if !isLinux {
		return "", nil
	}
	var err error
	for try := 0; try < 3; try++ {
		var b [8]byte
		rand.Read(b[:])
		name = "@ferry/" + p.dirID + "/" + hex.EncodeToString(b[:])
		if f, err = listenUnix(name); err == nil {
			return name, f
		}
	}
	p.log.Warn("no Unix socket for a replica; the gateway calls it over TCP", "err", err)
	return "", nil
}
