package process

import "github.com/ferryfaas/ferry/internal/ports"

// freePort picks a free loopback port for a watchdog (or its function) to
// bind.
func freePort() (int, error) { return ports.Free() }
