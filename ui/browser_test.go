package ui

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/ui/uitest"
)

// TestBrowserFake runs the portal scenario in headless Chromium against
// the fake API (fast, no functions run); test/e2e/ui_test.go runs the same
// scenario against the real `ferry serve`.
func TestBrowserFake(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	if _, err := uitest.FindChromium(); err != nil {
		t.Fatal(err)
	}
	_, srv := newFake(t)
	uitest.Run(t, uitest.Target{URL: srv.URL, User: fakeUser, Password: fakePass,
		Unreachable: func() { srv.Listener.Close(); srv.CloseClientConnections() }}, filepath.Join("..", "test", "e2e", "out", "ui-fake"))
}

// TestPageWeight keeps the portal inside its budget: under 300 KB
// transferred for a cold sign-in and the login page painted within 300 ms
// on loopback (the benchmark prints the same figures for the real server).
func TestPageWeight(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	_, srv := newFake(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := uitest.Measure(ctx, srv.URL, fakeUser, fakePass, t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cold: %.1f KB, first paint %v, sign-in to list %v; reload: %.1f KB, to list %v",
		w.ColdBytes/1024, w.FirstPaint, w.LoginToList, w.ReloadBytes/1024, w.ReloadToList)
	if w.ColdBytes <= 0 || w.ColdBytes > 300*1024 {
		t.Errorf("cold sign-in transferred %.0f bytes; the budget is 300 KB", w.ColdBytes)
	}
	if w.FirstPaint <= 0 || w.FirstPaint > 300*time.Millisecond {
		t.Errorf("first contentful paint %v; the budget is 300 ms", w.FirstPaint)
	}
}
