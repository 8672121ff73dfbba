package queue

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// After a burst of large bodies, the memory they took is handed back to
// the system. `ferry serve` collects garbage rarely (GOGC=400, see
// cli/gc.go): a burst of 1 MB calls grew its heap to hundreds of MB, and
// once idle nothing ran a collection for minutes, so the process stayed
// that large. One forced collection after the burst (the live heap is a
// few MB, so it is short) brings it back down.
const (
	largeBody    = 64 << 10    // bodies smaller than this are not counted
	releaseAfter = 64 << 20    // large-body bytes handled before a release
	releaseQuiet = time.Second // ... and this long without another one
)

type releaser struct {
	mu    sync.Mutex
	bytes int64
	timer *time.Timer
}

var memRelease releaser

// noteBody counts a body the queue stored or ran.
func noteBody(n int) {
	if n < largeBody {
		return
	}
	r := &memRelease
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bytes += int64(n)
	if r.bytes < releaseAfter {
		return
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(releaseQuiet, r.release)
	} else {
		r.timer.Reset(releaseQuiet)
	}
}

func (r *releaser) release() {
	r.mu.Lock()
	r.bytes = 0
	r.mu.Unlock()
	// Two collections: buffers parked in sync.Pools (Ferry's and the NATS
	// server's) survive the first.
	runtime.GC()
	debug.FreeOSMemory()
}
