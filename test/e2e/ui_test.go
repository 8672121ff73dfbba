package e2e

import (
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
	"github.com/ferryfaas/ferry/ui/uitest"
)

// TestPortal drives the portal of the real `ferry serve` in headless
// Chromium: wrong password, login, client- and server-side form errors,
// deploy a fork-mode function from the form, invoke it, see its log line,
// scale, delete, and the "gateway unreachable" message after the server
// stops. Screenshots go to test/e2e/out/portal/.
func TestPortal(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	uitest.RequireChromium(t)
	// The autoscaler would undo the manual scale to 2 at once (no load):
	// this test is about the portal, so it scales by hand only.
	start := time.Now()
	f := harness.T(t, harness.Options{Args: []string{"--autoscale=false"}})
	t.Logf("ferry serve started in %v", time.Since(start).Round(time.Millisecond))
	uitest.Run(t, uitest.Target{URL: f.URL, User: f.User, Password: f.Password, Unreachable: f.Stop}, "out/portal")
}
