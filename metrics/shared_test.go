package metrics

import (
	"context"
	"sync"
	"testing"
	"time"
)

// memShared is one store several gateways write at once, adding as the
// Kubernetes ConfigMap does; SaveCounters (the plain CounterStore) sets.
type memShared struct {
	mu sync.Mutex
	m  map[string]float64
}

func (s *memShared) LoadCounters(context.Context) (map[string]float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyTotals(s.m), nil
}

func (s *memShared) SaveCounters(_ context.Context, totals map[string]float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range totals {
		s.m[k] = v
	}
	return nil
}

func (s *memShared) AddCounters(_ context.Context, delta map[string]float64) (map[string]float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range delta {
		s.m[k] += v
	}
	return copyTotals(s.m), nil
}

func copyTotals(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Two gateways over one shared store: after a flush each shows the calls
// both served, the store holds their sum (nothing counted twice or lost),
// and a function removed from the store is dropped from both.
func TestDurableSharedByGateways(t *testing.T) {
	cs := &memShared{m: map[string]float64{"f.ns": 5}}
	recA, recB := NewRecorder(), NewRecorder()
	a, err := OpenDurableOn(context.Background(), cs, recA)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := OpenDurableOn(context.Background(), cs, recB)
	call := func(rec *Recorder, n int) {
		for i := 0; i < n; i++ {
			rec.Started("f.ns")
			rec.Finished("f.ns", 200, time.Millisecond)
		}
	}
	for round := 0; round < 3; round++ {
		call(recA, 10)
		call(recB, 7)
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(); err != nil { // learns B's last flush
		t.Fatal(err)
	}
	want := 5.0 + 3*17
	if cs.m["f.ns"] != want {
		t.Fatalf("store total %v, want %v", cs.m["f.ns"], want)
	}
	if ga, gb := a.Total("f.ns"), b.Total("f.ns"); ga != want || gb != want {
		t.Fatalf("gateways show %v and %v, want %v on both", ga, gb, want)
	}
	if got := a.Elsewhere("f.ns"); got != 5+3*7 { // what was there, and B's calls
		t.Fatalf("A counts %v calls elsewhere, want %v", got, 5+3*7)
	}
	call(recB, 2) // not flushed yet: B shows it at once, A after B's flush
	if got := b.Total("f.ns"); got != want+2 {
		t.Fatalf("B shows %v, want %v", got, want+2)
	}

	cs.mu.Lock()
	delete(cs.m, "f.ns") // the function was deleted
	cs.mu.Unlock()
	a.Flush()
	if got := a.Total("f.ns"); got != 0 {
		t.Fatalf("deleted function still shows %v", got)
	}
}
