//go:build race

package containerd

import "github.com/sasha-s/go-deadlock"

// go-cni swaps its mutex for go-deadlock's in race builds, and that one
// tells goroutines apart by an ID it cannot read on this Go release: two
// goroutines holding the read lock look like one locking twice, and it
// exits the process. Keep the race detector, without that checker.
func init() { deadlock.Opts.Disable = true }
