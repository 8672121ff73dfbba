package trigger_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/trigger"
	"github.com/ferryfaas/ferry/trigger/triggertest"
)

// The index follows deploys, updates and deletes, and skips a function
// whose annotations are malformed (deployed around the validation).
func TestIndexFollowsFunctions(t *testing.T) {
	env := triggertest.Start(t)
	ctx := context.Background()
	snap := func() []trigger.Function {
		t.Helper()
		if err := env.Index.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		fns, _ := env.Index.Snapshot()
		return fns
	}
	env.Deploy(t, "a", map[string]string{"topic": "x,y"})
	env.Deploy(t, "plain", nil)
	env.Deploy(t, "broken", map[string]string{"topic": "cron-function", "schedule": "whenever"})
	_, changed := env.Index.Snapshot()
	fns := snap()
	if len(fns) != 1 || fns[0].Name != "a" || len(fns[0].Topics) != 2 {
		t.Fatalf("after deploy: %+v", fns)
	}
	upd := api.FunctionDeployment{Service: "a", Image: "echo", Namespace: api.DefaultNamespace,
		Annotations: map[string]string{"topic": "z", trigger.AnnotationKafkaOrdered: "true"}}
	if err := env.GW.Provider.Update(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if fns = snap(); len(fns) != 1 || fns[0].Topics[0] != "z" || !fns[0].Ordered {
		t.Fatalf("after update: %+v", fns)
	}
	select {
	case <-changed:
	default:
		t.Fatal("no change signalled")
	}
	_, changed = env.Index.Snapshot()
	snap()
	select {
	case <-changed:
		t.Fatal("change signalled without a change")
	default:
	}
	if err := env.GW.Provider.Delete(ctx, api.DefaultNamespace, "a"); err != nil {
		t.Fatal(err)
	}
	if fns = snap(); len(fns) != 0 {
		t.Fatalf("after delete: %+v", fns)
	}
}

// A slow function holds its source to its slots: never more calls in
// flight than its concurrency annotation allows.
func TestInvokerBoundsInFlight(t *testing.T) {
	env := triggertest.Start(t)
	env.Delay(50 * time.Millisecond)
	env.Deploy(t, "slow", map[string]string{"topic": "t", trigger.AnnotationConcurrency: "2"})
	fns, _ := env.Index.Snapshot()
	fn := fns[0]
	var inflight, peak atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		release, err := env.Invoker.Acquire(context.Background(), &fn)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer release()
			n := inflight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			if _, err := env.Invoker.Deliver(context.Background(), &fn, trigger.Event{Source: "test", Topic: "t"}); err != nil {
				t.Error(err)
			}
			inflight.Add(-1)
		})
	}
	wg.Wait()
	if peak.Load() != 2 || len(env.Calls()) != 8 {
		t.Fatalf("peak %d in flight over %d calls, want 2 over 8", peak.Load(), len(env.Calls()))
	}
}

// robfig/cron's parser panics on a time zone prefix with nothing after it
// ("TZ=", "CRON_TZ="). At deploy that was a 500; a function that reached
// the index around the gateway's validation (a Kubernetes Function object,
// an older data dir, another OpenFaaS gateway polled by `ferry trigger
// cron`) panicked the trigger's refresh. Now a 400 naming the annotation,
// and the function is skipped like any malformed one.
func TestSchedulePanickingTheParser(t *testing.T) {
	for _, s := range []string{"TZ=", "CRON_TZ=", "TZ=UTC"} {
		err := trigger.ValidateAnnotations(map[string]string{"topic": "cron-function", "schedule": s})
		if api.StatusOf(err) != 400 || !strings.Contains(err.Error(), `"schedule"`) {
			t.Errorf("schedule %q: %v, want a 400 naming the annotation", s, err)
		}
	}
	env := triggertest.Start(t)
	env.Deploy(t, "tz", map[string]string{"topic": "cron-function", "schedule": "TZ="})
	env.Deploy(t, "ok", map[string]string{"topic": "cron-function", "schedule": "@every 1m"})
	if err := env.Index.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fns, _ := env.Index.Snapshot(); len(fns) != 1 || fns[0].Name != "ok" {
		t.Fatalf("index: %+v", fns)
	}
}

// An event whose request net/http refuses to build (here a subject with a
// control character, which a NATS wildcard matches, as X-Topic) fails the
// same way every time: it is dropped, not retried as "gateway unreachable"
// for as long as the source runs.
func TestUnsendableEventDropped(t *testing.T) {
	env := triggertest.Start(t)
	env.Deploy(t, "fn", map[string]string{"topic": "t.*"})
	fns, _ := env.Index.Snapshot()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := env.Invoker.Deliver(ctx, &fns[0], trigger.Event{Source: "test", Topic: "t.\x01"})
	if err != nil || res != nil || len(env.Calls()) != 0 {
		t.Fatalf("got %+v, %v and calls %+v; want the event dropped at once", res, err, env.Calls())
	}
}
