package autoscale

import (
	"context"
	"strings"
	"testing"
	"time"
)

type rig struct {
	p   *fakeProvider
	src *fakeSource
	a   *Autoscaler
	dec *Decisions
	now time.Time
}

func newRig(t *testing.T) *rig {
	r := &rig{p: newFakeProvider(), src: &fakeSource{}, dec: NewDecisions(), now: time.Unix(1_000_000, 0)}
	r.a = New(r.p.list, r.src, r.p, r.dec, Options{Window: 10 * time.Second, DownPeriod: 2 * time.Second, Log: quiet})
	return r
}

// second advances one second with rps requests started in it and ticks.
func (r *rig) second(fn string, rps uint64, inflight int64) {
	r.src.load(fn+".openfaas-fn", rps, inflight)
	r.now = r.now.Add(time.Second)
	r.a.Tick(context.Background(), r.now)
}

func TestScaleUpWithinOneSampleAndDownGradually(t *testing.T) {
	r := newRig(t)
	r.p.add("api", 1, map[string]string{LabelType: "rps", LabelTarget: "50", LabelProportion: "1", LabelMax: "10"})
	r.second("api", 0, 0) // first sample: baseline only
	r.second("api", 0, 0)
	if got := r.p.replicas("api"); got != 1 {
		t.Fatalf("idle: %d replicas", got)
	}
	// Load step to 200 req/s: 4 replicas on the first sample that sees it.
	r.second("api", 200, 3)
	if got := r.p.replicas("api"); got != 4 {
		t.Fatalf("after load step: %d replicas, want 4", got)
	}
	dec, ok := r.dec.Get("api.openfaas-fn")
	if !ok || dec.From != 1 || dec.To != 4 || dec.Observed != 200 || !strings.Contains(dec.Reason, "200.0 req/s") {
		t.Fatalf("decision = %+v", dec)
	}
	for i := 0; i < 5; i++ {
		r.second("api", 200, 3)
	}
	// Load stops: nothing happens within the 10 s window, then one step per 2 s.
	var seq []uint64
	for i := 0; i < 30; i++ {
		r.second("api", 0, 0)
		seq = append(seq, r.p.replicas("api"))
	}
	for i := 0; i < 10; i++ {
		if seq[i] != 4 {
			t.Fatalf("scaled down inside the stabilisation window: %v", seq)
		}
	}
	prev := uint64(4)
	steps := 0
	for _, n := range seq {
		if n > prev {
			t.Fatalf("went up without load: %v", seq)
		}
		if n < prev {
			steps++
		}
		prev = n
	}
	if prev != 1 || steps < 2 {
		t.Fatalf("scale down sequence %v: want gradual steps to min 1", seq)
	}
}

func TestNeverOutsideMinMax(t *testing.T) {
	r := newRig(t)
	r.p.add("f", 1, map[string]string{LabelMin: "2", LabelMax: "3", LabelTarget: "10"})
	r.second("f", 0, 0)
	r.second("f", 0, 0)
	if got := r.p.replicas("f"); got != 2 {
		t.Fatalf("below min not corrected: %d", got)
	}
	r.second("f", 10_000, 0)
	if got := r.p.replicas("f"); got != 3 {
		t.Fatalf("heavy load: %d replicas, want max 3", got)
	}
	for i := 0; i < 60; i++ {
		r.second("f", 0, 0)
		if got := r.p.replicas("f"); got < 2 || got > 3 {
			t.Fatalf("replicas %d outside 2..3", got)
		}
	}
}

func TestCapacityType(t *testing.T) {
	r := newRig(t)
	r.p.add("c", 1, map[string]string{LabelType: "capacity", LabelTarget: "5", LabelProportion: "1"})
	r.second("c", 0, 0)
	r.second("c", 1, 23)
	if got := r.p.replicas("c"); got != 5 {
		t.Fatalf("23 in flight / 5: %d replicas, want 5", got)
	}
}

func TestScaleToZeroAfterIdleAndWakeResetsTimer(t *testing.T) {
	r := newRig(t)
	r.p.add("z", 1, map[string]string{LabelZero: "true", LabelZeroDuration: "5s"})
	r.second("z", 0, 0)
	for i := 0; i < 4; i++ {
		r.second("z", 0, 0)
		if r.p.replicas("z") != 1 {
			t.Fatalf("scaled to zero after %ds", i+1)
		}
	}
	r.second("z", 0, 0)
	if got := r.p.replicas("z"); got != 0 {
		t.Fatalf("after 5s idle: %d replicas, want 0", got)
	}
	// Stays at zero; the Waker brings it back and touches the timer.
	r.second("z", 0, 0)
	if got := r.p.replicas("z"); got != 0 {
		t.Fatalf("autoscaler woke a zero function: %d", got)
	}
	r.a.Touch("z.openfaas-fn", r.now)
	_ = r.p.Scale(context.Background(), "openfaas-fn", "z", 1)
	r.second("z", 1, 0)
	r.second("z", 0, 0)
	if got := r.p.replicas("z"); got != 1 {
		t.Fatalf("scaled back to zero right after a wake: %d", got)
	}
	// Without zero=true a function never goes to zero.
	r.p.add("nz", 1, nil)
	for i := 0; i < 100; i++ {
		r.second("nz", 0, 0)
	}
	if r.p.replicas("nz") != 1 {
		t.Fatal("function without scale.zero went to zero")
	}
}

func TestInvalidLabelsAreNotScaled(t *testing.T) {
	r := newRig(t)
	r.p.add("bad", 7, map[string]string{LabelMin: "5", LabelMax: "2"})
	for i := 0; i < 50; i++ {
		r.second("bad", 0, 0)
	}
	if got := r.p.replicas("bad"); got != 7 || r.p.scaleCount() != 0 {
		t.Fatalf("function with invalid labels was scaled: %d (%d calls)", got, r.p.scaleCount())
	}
	st, _ := r.p.Get(context.Background(), "openfaas-fn", "bad")
	r.dec.Decorate(context.Background(), &st)
	if len(st.Conditions) != 1 || st.Conditions[0].Type != "ScaleLabels" || st.Conditions[0].Status != "False" ||
		!strings.Contains(st.Conditions[0].Message, "greater than") {
		t.Fatalf("conditions = %+v", st.Conditions)
	}
}

func TestManualScaleHoldsForAWindow(t *testing.T) {
	r := newRig(t)
	r.p.add("m", 1, map[string]string{LabelTarget: "50"})
	for i := 0; i < 20; i++ {
		r.second("m", 0, 0)
	}
	_ = r.p.Scale(context.Background(), "openfaas-fn", "m", 6) // by the API
	for i := 0; i < 10; i++ {
		r.second("m", 0, 0)
		if got := r.p.replicas("m"); got != 6 {
			t.Fatalf("manual scale undone after %ds (window 10s): %d", i+1, got)
		}
	}
	for i := 0; i < 20; i++ {
		r.second("m", 0, 0)
	}
	if got := r.p.replicas("m"); got != 1 {
		t.Fatalf("after the window: %d, want min 1", got)
	}
}

func TestUnlabelledFunctionsAreLeftAlone(t *testing.T) {
	r := newRig(t)
	r.p.add("plain", 3, map[string]string{LabelMax: "5"})
	for i := 0; i < 30; i++ {
		r.second("plain", 1000, 10)
	}
	for i := 0; i < 30; i++ {
		r.second("plain", 0, 0)
	}
	if got := r.p.replicas("plain"); got != 3 || r.p.scaleCount() != 0 {
		t.Fatalf("function without target/type labels was scaled: %d", got)
	}
}

// With several gateways the leader sees the others' calls only as their
// flushed counts (steps every few seconds): it scales on its own rate plus
// theirs, and does not idle a function busy only through them.
func TestElsewhereCounts(t *testing.T) {
	r := newRig(t)
	var away float64
	r.a = New(r.p.list, r.src, r.p, r.dec, Options{Window: 10 * time.Second, DownPeriod: 2 * time.Second, Log: quiet,
		Elsewhere: func(string) float64 { return away }})
	r.p.add("api", 1, map[string]string{LabelType: "rps", LabelTarget: "50", LabelProportion: "1", LabelMax: "10",
		LabelZero: "true", LabelZeroDuration: "8s"})
	r.second("api", 0, 0)
	// 100 req/s here, 200 req/s elsewhere flushed every 5 s: 6 replicas.
	for i := 1; i <= 12; i++ {
		if i%5 == 0 {
			away += 1000
		}
		r.second("api", 100, 0)
	}
	if got := r.p.replicas("api"); got != 6 {
		t.Fatalf("%d replicas for 100 req/s here and 200 elsewhere, want 6", got)
	}
	// No calls here for 30 s, a few elsewhere every 5 s: never idled.
	for i := 1; i <= 30; i++ {
		if i%5 == 0 {
			away += 5
		}
		r.second("api", 0, 0)
		if r.p.replicas("api") == 0 {
			t.Fatalf("idled to zero after %d s while other gateways serve it", i)
		}
	}
	// The other gateways stop too: idled after the steps stop coming and
	// zero-duration passes.
	for i := 0; i < 30 && r.p.replicas("api") != 0; i++ {
		r.second("api", 0, 0)
	}
	if got := r.p.replicas("api"); got != 0 {
		t.Fatalf("idle everywhere: %d replicas, want 0", got)
	}
}

// A function woken from zero by another gateway (no Touch here, no call
// seen yet) is not idled again at once.
func TestWokenElsewhereNotIdled(t *testing.T) {
	r := newRig(t)
	r.p.add("api", 1, map[string]string{LabelZero: "true", LabelZeroDuration: "5s"})
	for i := 0; i < 8 && r.p.replicas("api") != 0; i++ {
		r.second("api", 0, 0)
	}
	if r.p.replicas("api") != 0 {
		t.Fatal("idle function not scaled to zero")
	}
	r.second("api", 0, 0)
	if err := r.p.Scale(context.Background(), "openfaas-fn", "api", 1); err != nil { // the other gateway's wake
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		r.second("api", 0, 0)
		if r.p.replicas("api") == 0 {
			t.Fatalf("woken function idled again %d s after the wake (zero-duration 5s)", i)
		}
	}
}

// A new autoscaler (a new leader's) takes its baseline when it starts, so
// the first rate, and the first decision, come one tick later.
func TestRunSamplesAtOnce(t *testing.T) {
	r := newRig(t)
	r.p.add("api", 1, map[string]string{LabelType: "rps", LabelTarget: "50", LabelProportion: "1", LabelMax: "10"})
	clock := &fakeClock{t: r.now}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.a.Run(ctx, clock) }()
	// The ticker's first tick is a second away: a baseline taken before
	// it can only come from the tick at start.
	deadline := time.Now().Add(900 * time.Millisecond)
	for time.Now().Before(deadline) && !r.a.sampled("api.openfaas-fn") {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if !r.a.sampled("api.openfaas-fn") {
		t.Fatal("no baseline taken when Run started")
	}
}
