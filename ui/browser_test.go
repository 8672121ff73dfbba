package ui

import (
	"path/filepath"
	"testing"

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
