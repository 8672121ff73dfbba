package process

import (
	"crypto/rand"
	"encoding/hex"
	"os"

	"github.com/ferryfaas/ferry/internal/ports"
)

// freePort picks a free loopback port for a watchdog (or its function) to
// bind.
func freePort() (int, error) { return ports.Free() }

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
