package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// TestCLIWait: `ferry deploy --wait` returns once the function is ready,
// also after an update (when the new version runs), and fails quickly
// with the reason for a function that cannot start.
func TestCLIWait(t *testing.T) {
	f := harness.T(t, harness.Options{})
	c := newCLI(t, f, true)
	dir := t.TempDir()

	r := c.run(dir, "", nil, "deploy", "--name", "waited", "--image", "cat", "--fprocess", "cat", "--wait")
	if r.Code != 0 || !strings.Contains(r.Stdout, "waited is ready (1/1)") {
		t.Fatalf("deploy --wait: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	// An http-mode update whose new version takes a second to listen: the
	// wait covers the rolling update, not just "a replica is up".
	slow := httpFn(t, "x", nil)["envProcess"].(string)
	r = c.run(dir, "", nil, "deploy", "--name", "waited", "--image", "cat", "--fprocess", "sleep 1; exec "+slow,
		"--env", "mode=http", "--wait")
	if r.Code != 0 || !strings.Contains(r.Stdout, "waited is ready (1/1)") || r.Took < time.Second {
		t.Fatalf("update --wait: exit %d after %s\n%s%s", r.Code, r.Took, r.Stdout, r.Stderr)
	}
	if code, _, body := invoke(t, f, "GET", "waited/echo", "", nil); code != 200 || !strings.Contains(body, `"path":"/echo"`) {
		t.Fatalf("right after the wait the new version must answer: %d %q", code, body)
	}

	r = c.run(dir, "", nil, "deploy", "--name", "broken", "--image", "x", "--fprocess", "/no/such/command",
		"--env", "mode=http", "--wait", "--wait-timeout", "60s")
	oneErrorLine(t, "deploy --wait of a function that cannot start", r, "broken cannot start", "ferry logs broken")
	if r.Took > 30*time.Second {
		t.Errorf("the failed wait took %s: it should end as soon as the function crash-loops", r.Took)
	}
	// The crash loop is visible at a glance, beside a ready function, and
	// the default deploy waits too (--no-wait returns at once).
	r = c.run(dir, "", nil, "list")
	if r.Code != 0 || !regexp.MustCompile(`(?m)^broken\s+CrashLoop\s`).MatchString(r.Stdout) ||
		!regexp.MustCompile(`(?m)^waited\s+Ready\s`).MatchString(r.Stdout) {
		t.Fatalf("list must show each function's STATUS: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = c.run(dir, "", nil, "deploy", "--name", "broken2", "--image", "x", "--fprocess", "/no/such/command", "--env", "mode=http")
	oneErrorLine(t, "deploy (waits by default) of a function that cannot start", r, "broken2 cannot start", "ferry logs broken2")
	r = c.run(dir, "", nil, "deploy", "--name", "broken3", "--image", "x", "--fprocess", "/no/such/command", "--no-wait")
	if r.Code != 0 {
		t.Fatalf("deploy --no-wait returns once the gateway took it: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}
