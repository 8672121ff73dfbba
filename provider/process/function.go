package process

import (
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// crashLoopAfter consecutive failed starts of one replica mark the function
// as crash-looping (Route.Failure and a Ready=False condition).
const crashLoopAfter = 3

// function is the runtime state of one deployed function: its spec, its
// replica slots and the route snapshot published to the gateway.
type function struct {
	p        *Provider
	ns, name string
	logs     *logBook

	route atomic.Pointer[provider.Route]
	slotW sync.WaitGroup // live slot supervisors

	mu    sync.Mutex
	rec   record
	spec  *runSpec
	slots []*slot
	crash string // crash-loop explanation, "" when healthy
	// restarts counts replicas that exited and were started again.
	restarts uint64
	closed   bool // deleted or provider closing: no new replicas
	changed  chan struct{}
	usage    usageSample
}

func newFunction(p *Provider, rec record, spec *runSpec, logs *logBook) *function {
	f := &function{p: p, ns: rec.Deployment.Namespace, name: rec.Deployment.Service, rec: rec, spec: spec, logs: logs}
	f.changed = make(chan struct{})
	f.route.Store(&provider.Route{Changed: f.changed, Desired: rec.Replicas, Timeout: spec.timeout, Failure: spec.bare()})
	return f
}

func (f *function) record() record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rec
}

// setSpec switches to a new version; reconcile rolls the replicas over.
func (f *function) setSpec(rec record, spec *runSpec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rec, f.spec, f.crash = rec, spec, ""
	f.reconcileLocked()
}

func (f *function) setReplicas(n uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rec.Replicas = n
	f.reconcileLocked()
}

// reconcileLocked starts and stops slots to reach the desired count of the
// current spec. Slots of an older spec are stopped only as new ones become
// ready, so an update never leaves fewer ready replicas than desired.
func (f *function) reconcileLocked() {
	defer f.publishLocked()
	if f.closed {
		return
	}
	n := int(f.rec.Replicas)
	var cur, old []*slot
	for _, s := range f.slots {
		switch {
		case s.stopping:
		case s.spec == f.spec:
			cur = append(cur, s)
		default:
			old = append(old, s)
		}
	}
	if f.spec.bare() != "" {
		// Nothing of this version can run: stop everything.
		for _, s := range append(cur, old...) {
			f.stopLocked(s)
		}
		return
	}
	for len(cur) < n {
		cur = append(cur, f.startLocked())
	}
	if len(cur) > n {
		// Stop the ones not serving yet first, then the highest ids.
		slices.SortFunc(cur, func(a, b *slot) int {
			if a.ready != b.ready {
				if a.ready {
					return -1
				}
				return 1
			}
			return a.id - b.id
		})
		for _, s := range cur[n:] {
			f.stopLocked(s)
		}
		cur = cur[:n]
	}
	ready := 0
	for _, s := range cur {
		if s.ready {
			ready++
		}
	}
	keep := max(0, n-ready)
	if len(old) > keep {
		slices.SortFunc(old, func(a, b *slot) int {
			if a.ready != b.ready {
				if a.ready {
					return 1
				}
				return -1
			}
			return b.id - a.id
		})
		for _, s := range old[:len(old)-keep] {
			f.stopLocked(s)
		}
	}
}

func (f *function) startLocked() *slot {
	id := 0
	for slices.ContainsFunc(f.slots, func(s *slot) bool { return s.id == id }) {
		id++
	}
	s := &slot{f: f, id: id, spec: f.spec, stop: make(chan struct{}), instance: f.name + "-" + itoa(id)}
	f.slots = append(f.slots, s)
	f.slotW.Add(1)
	f.p.bg.Add(1)
	go s.run()
	return s
}

func (f *function) stopLocked(s *slot) {
	if !s.stopping {
		s.stopping = true
		s.ready = false
		close(s.stop)
	}
}

// publishLocked stores a new route snapshot when endpoints, desired count
// or failure changed, then closes the previous Changed channel.
func (f *function) publishLocked() {
	if f.closed && f.changed == nil {
		return
	}
	var eps []provider.Endpoint
	for _, s := range f.slots {
		if s.ready && !s.stopping {
			ep := s.ep
			ep.Instance = s.instance
			eps = append(eps, ep)
		}
	}
	slices.SortFunc(eps, func(a, b provider.Endpoint) int {
		if a.Instance < b.Instance {
			return -1
		}
		if a.Instance > b.Instance {
			return 1
		}
		return 0
	})
	failure := f.spec.bare()
	if failure == "" && len(eps) == 0 {
		failure = f.crash
	}
	prev := f.route.Load()
	if prev.Desired == f.rec.Replicas && prev.Failure == failure && prev.Timeout == f.spec.timeout &&
		slices.Equal(prev.Endpoints, eps) {
		return
	}
	old := f.changed
	f.changed = make(chan struct{})
	f.route.Store(&provider.Route{Endpoints: eps, Changed: f.changed, Desired: f.rec.Replicas, Timeout: f.spec.timeout, Failure: failure})
	close(old)
}

// shutdown stops every replica and wakes route waiters; the function
// starts nothing afterwards.
func (f *function) shutdown() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	for _, s := range f.slots {
		f.stopLocked(s)
	}
	f.closed = true
	f.route.Store(&provider.Route{Changed: f.changed, Desired: f.rec.Replicas, Failure: "function is stopping"})
	close(f.changed)
	f.changed = nil
}

// Events from slot supervisors.

func (f *function) slotReady(s *slot, ep provider.Endpoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.stopping {
		return
	}
	s.ready, s.ep = true, ep
	f.crash = ""
	f.reconcileLocked()
}

func (f *function) slotDown(s *slot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s.ready, s.rep = false, nil
	f.reconcileLocked()
}

func (f *function) slotCrashed(s *slot, fails int, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restarts++
	if fails >= crashLoopAfter && !s.stopping {
		f.crash = "replica " + s.instance + " keeps crashing (" + itoa(fails) + " times in a row; restarting with back-off): " + msg
	}
	f.reconcileLocked()
}

func (f *function) slotDone(s *slot) {
	f.mu.Lock()
	f.slots = slices.DeleteFunc(f.slots, func(x *slot) bool { return x == s })
	f.reconcileLocked()
	dir := s.spec.prep.Dir
	stale := dir != "" && s.spec != f.spec && dir != f.spec.prep.Dir &&
		!slices.ContainsFunc(f.slots, func(x *slot) bool { return x.spec.prep.Dir == dir })
	closed := f.closed
	f.mu.Unlock()
	if stale && !closed {
		f.p.removeStaleDir(f, dir)
	}
}

// status reports the function with its replica counts and conditions.
func (f *function) status() api.FunctionStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.rec.Deployment
	var ready, current uint64 // current: ready and running the latest spec
	for _, s := range f.slots {
		if s.ready && !s.stopping {
			ready++
			if s.spec == f.spec {
				current++
			}
		}
	}
	st := api.FunctionStatus{
		Name: d.Service, Image: d.Image, Namespace: d.Namespace, EnvProcess: d.EnvProcess,
		EnvVars: maps.Clone(d.EnvVars), Constraints: slices.Clone(d.Constraints), Secrets: slices.Clone(d.Secrets),
		Labels: maps.Clone(d.Labels), Annotations: maps.Clone(d.Annotations), Limits: d.Limits, Requests: d.Requests,
		ReadOnlyRootFilesystem: d.ReadOnlyRootFilesystem,
		Replicas:               f.rec.Replicas, AvailableReplicas: ready, ReadyReplicas: ready, Restarts: f.restarts,
		CreatedAt: f.rec.CreatedAt,
	}
	now := time.Now().UTC()
	readyCond := api.Condition{Type: "Ready", Status: "True", Time: now}
	switch {
	case f.spec.bare() != "":
		readyCond.Status, readyCond.Reason, readyCond.Message = "False", "CannotRun", f.spec.bare()
	case f.crash != "":
		readyCond.Status, readyCond.Reason, readyCond.Message = "False", "CrashLoop", f.crash
	case f.rec.Replicas == 0:
		readyCond.Reason = "ScaledToZero"
	case ready < f.rec.Replicas:
		readyCond.Status, readyCond.Reason = "False", "Starting"
		readyCond.Message = itoa(int(ready)) + " of " + itoa(int(f.rec.Replicas)) + " replicas ready"
	case current < f.rec.Replicas:
		// A rolling update: the previous version still serves meanwhile.
		readyCond.Status, readyCond.Reason = "False", "Updating"
		readyCond.Message = itoa(int(current)) + " of " + itoa(int(f.rec.Replicas)) + " replicas run the new version"
	}
	st.Conditions = append(st.Conditions, readyCond)
	for _, c := range f.spec.prep.Conditions {
		c.Time = now
		st.Conditions = append(st.Conditions, c)
	}
	return st
}

func itoa(i int) string { return strconv.Itoa(i) }
