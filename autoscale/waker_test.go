package autoscale

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider/providertest"
)

func TestWakeSharesOneStart(t *testing.T) {
	p := newFakeProvider()
	p.add("z", 0, nil)
	// The "replica" becomes ready asynchronously after Scale, signalled on Changed.
	p.onScale = func(name string, n uint64) {
		go p.SetEndpoints(api.DefaultNamespace, name, "127.0.0.1:1")
	}
	w := NewWaker(p, 5*time.Second, RealClock)
	var woke []string
	var mu sync.Mutex
	w.OnWake = func(fn string, _ time.Time) { mu.Lock(); woke = append(woke, fn); mu.Unlock() }

	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- w.Wake(context.Background(), "openfaas-fn", "z")
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := p.scaleCount(); n != 1 {
		t.Fatalf("%d Scale calls for 20 concurrent wakes, want 1", n)
	}
	if p.replicas("z") != 1 || len(woke) < 1 {
		t.Fatalf("replicas %d, woke %v", p.replicas("z"), woke)
	}
}

func TestWakeFailureIs503WithReason(t *testing.T) {
	p := newFakeProvider()
	p.add("broken", 0, nil)
	p.onScale = func(name string, n uint64) {
		go p.Edit(api.DefaultNamespace, name, func(fn *providertest.Function) { fn.Failure = "exec: \"./handler\": no such file" })
	}
	w := NewWaker(p, 5*time.Second, RealClock)
	err := w.Wake(context.Background(), "openfaas-fn", "broken")
	if api.StatusOf(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err = %v", err)
	}
}

func TestWakeTimeoutAndUnknown(t *testing.T) {
	p := newFakeProvider()
	p.add("slow", 0, nil) // never becomes ready
	w := NewWaker(p, 50*time.Millisecond, RealClock)
	err := w.Wake(context.Background(), "openfaas-fn", "slow")
	if api.StatusOf(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "no replica ready") {
		t.Fatalf("err = %v", err)
	}
	if err := w.Wake(context.Background(), "openfaas-fn", "nope"); !api.IsNotFound(err) {
		t.Fatalf("unknown function: %v", err)
	}
}
