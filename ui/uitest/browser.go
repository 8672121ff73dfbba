// Package uitest drives the portal in a real headless Chromium (Debian's
// `chromium`) through chromedp. It holds the browser scenario shared by the
// portal's own tests (against the real gateway over the in-memory
// provider) and the end-to-end test (against the real `ferry serve`), and
// the page-weight measurement of the benchmark.
package uitest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian installs Chromium (scripts/install-deps.sh).
const ChromiumPath = "/usr/bin/chromium"

// FindChromium returns the browser binary: $FERRY_CHROMIUM, Debian's
// chromium, or chromium/chromium-browser/google-chrome on PATH.
func FindChromium() (string, error) {
	if p := os.Getenv("FERRY_CHROMIUM"); p != "" {
		return p, nil
	}
	if _, err := os.Stat(ChromiumPath); err == nil {
		return ChromiumPath, nil
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found: run scripts/install-deps.sh (apt-get install chromium) or set FERRY_CHROMIUM")
}

// RequireChromium skips the test when no Chromium is installed, saying
// what to install; with FERRY_TOOLS_REQUIRED=1 (scripts/test.sh, where the
// tools are installed) a missing Chromium fails the test instead, so a skip
// cannot hide a regression in CI.
func RequireChromium(t testing.TB) {
	t.Helper()
	if _, err := FindChromium(); err != nil {
		if os.Getenv("FERRY_TOOLS_REQUIRED") == "1" {
			t.Fatalf("FERRY_TOOLS_REQUIRED=1: %v", err)
		}
		t.Skip(err)
	}
}

// NewBrowser starts a headless Chromium with a fresh profile in
// userDataDir and returns a tab context. cancel closes the browser.
func NewBrowser(parent context.Context, userDataDir string, width, height int) (context.Context, context.CancelFunc, error) {
	exe, err := FindChromium()
	if err != nil {
		return nil, nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(userDataDir),
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
	}
	actx, acancel := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser now, so errors surface here
		cancel()
		acancel()
		return nil, nil, fmt.Errorf("start %s: %w", exe, err)
	}
	return ctx, func() { cancel(); acancel() }, nil
}
