package queue

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestRunnerReusesGoroutines(t *testing.T) {
	r := newRunner(time.Minute)
	done := make(chan struct{})
	r.Go(func() { close(done) })
	<-done
	// Each job below is taken by the goroutine that ran the first: the
	// send succeeds only when one waits, and none other was started.
	for i := 0; i < 100; i++ {
		deadline := time.Now().Add(5 * time.Second)
		for !waiting(r) {
			if time.Now().After(deadline) {
				t.Fatalf("job %d: no goroutine came back to wait for work", i)
			}
			runtime.Gosched()
		}
	}
	if n := r.spawned.Load(); n != 1 {
		t.Fatalf("started %d goroutines, want 1", n)
	}
}

// waiting hands r a job that does nothing if one of its goroutines waits
// for work, and reports whether one did.
func waiting(r *runner) bool {
	select {
	case r.jobs <- func() {}:
		return true
	default:
		return false
	}
}

func TestRunnerRunsConcurrentlyAndIdlesOut(t *testing.T) {
	base := runtime.NumGoroutine()
	r := newRunner(50 * time.Millisecond)
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := 0; i < 20; i++ {
		wg.Add(1)
		r.Go(func() { defer wg.Done(); <-release }) // never blocks, even with all busy
	}
	if n := r.spawned.Load(); n != 20 {
		t.Fatalf("20 jobs at once ran on %d goroutines", n)
	}
	close(release)
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Fatalf("%d goroutines left after the idle time (%d before)", n, base)
	}
}
