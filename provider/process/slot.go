package process

import (
	"fmt"
	"time"

	"github.com/ferryfaas/ferry/provider"
)

// slot is one replica position of a function. Its supervisor goroutine
// starts a replica through the runtime, reports readiness, and restarts it
// with back-off when it dies, until the slot is stopped. The instance name ("<fn>-<id>")
// stays the same across restarts.
type slot struct {
	f        *function
	id       int
	instance string
	spec     *runSpec
	stop     chan struct{} // closed by stopLocked

	// guarded by f.mu
	stopping bool
	ready    bool
	ep       provider.Endpoint // where it serves, once ready
	rep      Replica           // the running replica, nil between runs
}

// run supervises the slot until it is stopped.
func (s *slot) run() {
	defer s.f.p.bg.Done()
	defer s.f.slotW.Done()
	defer s.f.slotDone(s)
	cfg := &s.f.p.cfg
	fails := 0
	lastMsg := ""
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		res := s.once()
		if res.stopped {
			return
		}
		if res.readyFor >= cfg.BackoffMax {
			fails = 0 // it ran fine for a while: this is not a loop
		}
		fails++
		delay := cfg.BackoffMin << min(fails-1, 16)
		if delay > cfg.BackoffMax || delay <= 0 {
			delay = cfg.BackoffMax
		}
		// One line per attempt; the replica's output (in res.msg) only when
		// it differs from the last attempt's, so a crash loop does not
		// repeat the same traceback into the server's log.
		log := s.f.p.log.With("function", s.f.name, "namespace", s.f.ns, "instance", s.instance, "attempt", fails, "next_in", delay)
		if res.msg == lastMsg {
			log.Warn("replica exited again, as before; restarting")
		} else {
			log.Warn("replica exited; restarting", "why", res.msg)
		}
		lastMsg = res.msg
		s.f.slotCrashed(s, fails, res.msg)
		t := time.NewTimer(delay)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

type runResult struct {
	stopped  bool
	msg      string
	readyFor time.Duration
}

// once starts one replica through the runtime and waits until it exits or
// the slot stops. A replica not ready within StartTimeout is killed.
func (s *slot) once() runResult {
	f, p := s.f, s.f.p
	started := time.Now()
	r, err := p.rt.Start(p.killCtx, ReplicaSpec{
		Namespace: f.ns, Function: f.name, Instance: s.instance, Slot: s.id,
		Version: s.spec.ver, Prepared: s.spec.prep,
		Output: func(pid int, line string) { f.logs.add(s.instance, pid, line) },
	})
	if err != nil {
		return runResult{msg: err.Error()}
	}
	f.mu.Lock()
	s.rep = r
	f.mu.Unlock()

	startT := time.NewTimer(p.cfg.StartTimeout)
	defer startT.Stop()
	readyCh := r.Ready()
	var readyAt time.Time
	var note string
	for {
		select {
		case <-readyCh:
			readyCh = nil
			startT.Stop()
			readyAt = time.Now()
			p.log.Debug("replica ready", "function", f.name, "namespace", f.ns, "instance", s.instance, "after", readyAt.Sub(started))
			f.slotReady(s, r.Endpoint())
		case <-startT.C:
			if readyAt.IsZero() {
				note = fmt.Sprintf("not ready after %s, so it was killed: ", p.cfg.StartTimeout)
				r.Stop(p.killCtx, 0)
			}
		case <-r.Done():
			f.slotDown(s)
			release(r)
			var up time.Duration
			if !readyAt.IsZero() {
				up = time.Since(readyAt)
			}
			msg := "exited"
			if err := r.Err(); err != nil {
				msg = err.Error()
			}
			return runResult{msg: note + msg, readyFor: up}
		case <-s.stop:
			f.slotDown(s)
			r.Stop(p.killCtx, s.spec.grace)
			release(r)
			return runResult{stopped: true}
		}
	}
}

// release frees what a replica held for calls still in flight to it, once
// no call is routed to it any more.
func release(r Replica) {
	if x, ok := r.(Releaser); ok {
		x.Release()
	}
}
