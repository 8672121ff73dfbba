package cli

import (
	"context"
	"github.com/ferryfaas/ferry/provider"
	"sync/atomic"
	"testing"
	"time"
)

// whileLeading runs its function for each term only, and stops it when the
// term ends.
func TestLeadershipTerms(t *testing.T) {
	l := newLeadership()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var running, terms atomic.Int32
	done := make(chan struct{})
	go func() {
		l.whileLeading(ctx, func(ctx context.Context) {
			terms.Add(1)
			running.Store(1)
			<-ctx.Done()
			running.Store(0)
		})
		close(done)
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatal(what)
			}
		}
	}
	time.Sleep(20 * time.Millisecond)
	if running.Load() != 0 || l.Leading() {
		t.Fatal("runs while following")
	}
	for i := 1; i <= 2; i++ {
		term, end := context.WithCancel(ctx)
		go l.begin(term)
		waitFor("not started on a term", func() bool { return running.Load() == 1 && l.Leading() })
		end()
		waitFor("not stopped at the end of a term", func() bool { return running.Load() == 0 && !l.Leading() })
		if got := terms.Load(); got != int32(i) {
			t.Fatalf("%d runs after %d terms", got, i)
		}
	}
	cancel()
	<-done
}

func TestCheckElectOptions(t *testing.T) {
	ok := func(o provider.ElectOptions) error { return checkElectOptions(&o) }
	if err := ok(provider.ElectOptions{Name: "l", LeaseDuration: 6 * time.Second, RenewDeadline: 4 * time.Second, RetryPeriod: time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := ok(provider.ElectOptions{}); err == nil {
		t.Fatal("a Lease with no name accepted")
	}
}
