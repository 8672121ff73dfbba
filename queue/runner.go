package queue

import (
	"sync/atomic"
	"time"
)

// runner runs each queued call's handler on a goroutine of its own, but
// reuses goroutines that finished one: a call's way through the gateway
// needs a stack several times the 8 KiB a new goroutine starts with, and
// growing it (copying it twice or three times) was about a twentieth of
// the worker's CPU. A goroutine waits up to idle for the next handler, so
// a busy queue keeps about as many as run at once and a quiet one none.
type runner struct {
	jobs    chan func()
	idle    time.Duration
	spawned atomic.Int64 // goroutines started (for tests)
}

func newRunner(idle time.Duration) *runner {
	return &runner{jobs: make(chan func()), idle: idle}
}

// Go runs f at once, on a waiting goroutine or a new one; it never blocks
// (the worker bounds what runs at once).
func (r *runner) Go(f func()) {
	select {
	case r.jobs <- f:
	default:
		r.spawned.Add(1)
		go r.loop(f)
	}
}

func (r *runner) loop(f func()) {
	f()
	t := time.NewTimer(r.idle)
	defer t.Stop()
	for {
		select {
		case f = <-r.jobs:
			f()
			t.Reset(r.idle)
		case <-t.C:
			return
		}
	}
}
