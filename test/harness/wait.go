package harness

import (
	"testing"
	"time"
)

// WaitClosed waits up to 5 seconds for ch to be closed (a handler's
// "entered", a watcher's "reading"), failing the test with what it is
// otherwise: a wait on the thing itself, where a sleep would guess.
func WaitClosed(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5s", what)
	}
}
