package wasmrt

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider/process"
)

func TestBudgetAccounting(t *testing.T) {
	b := NewBudget(100)
	if !b.take(60, false) || b.take(50, false) || b.Reserved() != 60 {
		t.Fatalf("60 then 50 of 100: reserved %d", b.Reserved())
	}
	if !b.take(50, true) || b.Reserved() != 110 {
		t.Fatalf("forced: reserved %d", b.Reserved())
	}
	b.give(50)
	ctx := context.Background()
	t0 := time.Now()
	if b.wait(ctx, 50, 50*time.Millisecond) || time.Since(t0) < 40*time.Millisecond {
		t.Fatalf("wait for 50 with 60 of 100 held: granted or did not wait (%s)", time.Since(t0))
	}
	if b.wait(ctx, 101, time.Hour) {
		t.Fatal("more than the whole budget granted")
	}
	go func() { time.Sleep(20 * time.Millisecond); b.give(60) }()
	if !b.wait(ctx, 50, 5*time.Second) || b.Reserved() != 50 {
		t.Fatalf("a waiter not woken by a release: reserved %d", b.Reserved())
	}
	b.give(50)
	if u := NewBudget(0); !u.take(1<<40, false) || u.Reserved() != 1<<40 {
		t.Fatal("an unbounded budget refused or did not count")
	}
}

// budgetFixture is the guest with a 512 MiB cap per call under a budget
// of budget bytes.
func budgetFixture(t *testing.T, budget int64, env ...string) (*fixture, string) {
	f := newFixture(t, &api.FunctionDeployment{Limits: &api.Resources{Memory: "512Mi"}}, env...)
	f.rt.Budget = NewBudget(budget)
	return f, f.start()
}

// settled waits for the budget to be back to nothing held: the handler
// returns its reservation after writing the response.
func settled(t *testing.T, b *Budget) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.Reserved() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := b.Reserved(); n != 0 {
		t.Fatalf("%d bytes still reserved after the calls ended", n)
	}
}

func TestBudgetRefusesGrowthAlone(t *testing.T) {
	// The guest grows by 256 MiB at once: more than what is left of a
	// budget of 300 MiB with 200 MiB held elsewhere; a call beside it
	// needs much less.
	f, url := budgetFixture(t, 300<<20, "exec_timeout=60s")
	f.rt.Budget.take(200<<20, false)
	var wg sync.WaitGroup
	var allocResp *http.Response
	var allocBody string
	var echoCode int
	wg.Add(2)
	go func() {
		defer wg.Done()
		resp, err := http.Post(url+"/?grow", "text/plain", nil)
		if err != nil {
			t.Error(err)
			return
		}
		allocResp, allocBody = resp, readAll(resp)
	}()
	go func() { defer wg.Done(); echoCode, _ = call(t, url+"/", "x") }()
	wg.Wait()
	if allocResp == nil || allocResp.StatusCode != http.StatusServiceUnavailable || allocResp.Header.Get("Retry-After") == "" ||
		!strings.Contains(allocBody, "--wasm-memory-budget") || echoCode != 200 {
		t.Fatalf("alloc past the budget: %v %q; echo beside it %d", allocResp, allocBody, echoCode)
	}
	t.Logf("refusal: %s", allocBody)
	if !strings.Contains(allocBody, "exhausted") || !strings.Contains(allocBody, "MiB more") {
		t.Fatalf("the refusal names no cause: %q", allocBody)
	}
	f.rt.Budget.give(200 << 20)
	settled(t, f.rt.Budget)
	if n := f.rt.Budget.Refused(); n != 1 {
		t.Fatalf("refused %d calls, want 1", n)
	}
	if code, body := call(t, url+"/", "after"); code != 200 || body != "after" {
		t.Fatalf("after: %d %q", code, body)
	}
}

func TestBudgetTooSmallToStart(t *testing.T) {
	f, url := budgetFixture(t, 64<<10)
	code, body := call(t, url+"/", "x")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "too small") || !strings.Contains(body, "--wasm-memory-budget") {
		t.Fatalf("%d %q", code, body)
	}
	settled(t, f.rt.Budget)
}

func TestBudgetReleasedOnEveryEnd(t *testing.T) {
	f, url := budgetFixture(t, 1<<30, "exec_timeout=500ms")
	for _, q := range []string{"trap", "fail", "loop", "echo"} {
		code, body := call(t, url+"/?"+q, "")
		t.Logf("%s: %d %.80q", q, code, body)
		if (code == 200) != (q == "echo") {
			t.Fatalf("%s: %d", q, code)
		}
		settled(t, f.rt.Budget)
	}
	if !f.logged("out of bounds memory access") && !f.logged("out of bounds") {
		t.Logf("trap not in the logs: %q", f.logs)
	}
	// Killed: the replica stopped without grace while a call loops.
	x, err := f.rt.Start(context.Background(), process.ReplicaSpec{Namespace: "ferry-fn", Function: "guest", Instance: "guest-1",
		Version: f.ver, Prepared: f.prep, Output: func(int, string) {}})
	if err != nil {
		t.Fatal(err)
	}
	<-x.Ready()
	done := make(chan int)
	go func() { c, _ := call(t, "http://"+x.Endpoint().Address+"/?loop", ""); done <- c }()
	deadline := time.Now().Add(5 * time.Second)
	for f.rt.Budget.Reserved() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if f.rt.Budget.Reserved() == 0 {
		t.Fatal("a running call holds nothing")
	}
	x.Stop(context.Background(), 0)
	<-done
	settled(t, f.rt.Budget)
}

func TestUsage(t *testing.T) {
	f := newFixture(t, &api.FunctionDeployment{}, "exec_timeout=1s")
	x, err := f.rt.Start(context.Background(), process.ReplicaSpec{Namespace: "ferry-fn", Function: "guest", Instance: "guest-1",
		Version: f.ver, Prepared: f.prep, Output: func(int, string) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Stop(context.Background(), 0)
	<-x.Ready()
	done := make(chan int)
	go func() { c, _ := call(t, "http://"+x.Endpoint().Address+"/?loop", ""); done <- c }()
	deadline := time.Now().Add(5 * time.Second)
	var u []process.Usage
	for time.Now().Before(deadline) {
		if u = f.rt.Usage([]process.Replica{x}); u[0].MemoryBytes > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if u[0].MemoryBytes <= 0 {
		t.Fatalf("a looping call: usage %+v", u[0])
	}
	time.Sleep(300 * time.Millisecond)
	if u := f.rt.Usage([]process.Replica{x}); u[0].CPU < 200*time.Millisecond {
		t.Fatalf("a call looping for 300ms and more, in flight: usage %+v", u[0])
	}
	<-done
	u = f.rt.Usage([]process.Replica{x})
	if u[0].MemoryBytes != 0 || u[0].CPU < 900*time.Millisecond {
		t.Fatalf("after a call looping 1s: usage %+v", u[0])
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestBudgetGrowthWaitsBriefly(t *testing.T) {
	f, url := budgetFixture(t, 300<<20, "exec_timeout=60s")
	f.rt.Budget.take(200<<20, false)
	go func() { time.Sleep(300 * time.Millisecond); f.rt.Budget.give(200 << 20) }()
	if code, body := call(t, url+"/?grow", ""); code != 200 {
		t.Fatalf("a growth while memory is returned: %d %q", code, body)
	}
	settled(t, f.rt.Budget)
	if n := f.rt.Budget.Refused(); n != 0 {
		t.Fatalf("refused %d", n)
	}
}

func TestAdmissionLearnsThePeak(t *testing.T) {
	m := &module{initial: 4 << 20}
	b := NewBudget(100 << 20)
	if n := admission(m, b); n != 4<<20 {
		t.Fatalf("first call: %d", n)
	}
	l := admit(context.Background(), b, new(usage), m, admission(m, b))
	if !l.grow(4<<20, true) || !l.grow(60<<20, false) {
		t.Fatal("growth within the budget refused")
	}
	l.release()
	if n := admission(m, b); n != 64<<20 {
		t.Fatalf("after a call of 64 MiB: %d", n)
	}
	for range 30 {
		l := admit(context.Background(), b, new(usage), m, admission(m, b))
		l.grow(4<<20, true)
		l.release()
	}
	if n := admission(m, b); n != 4<<20 || b.Reserved() != 0 {
		t.Fatalf("after 30 small calls: %d, reserved %d", n, b.Reserved())
	}
	m.peak.Store(200 << 20) // past the budget: not asked for
	if n := admission(m, b); n != 4<<20 {
		t.Fatalf("a peak past the budget: %d", n)
	}
}
