package uitest

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser attacks on the admin's credentials (docs/security.md,
// "Browsers: CSRF and function origins"), shared by the gateway's tests
// and the end-to-end test against `ferry serve`.

// SignedInTab starts Chromium with a fresh profile and signs in to the
// gateway at origin the way a browser caches basic auth: a navigation
// with the credentials, after which the browser answers the gateway's
// challenges by itself. It skips the test without Chromium
// (see RequireChromium).
func SignedInTab(t testing.TB, origin, user, password string) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test")
	}
	RequireChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	tab, closeTab, err := NewBrowser(ctx, t.TempDir(), 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeTab)
	u, err := url.Parse(origin + "/system/info")
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	Navigate(t, tab, u.String())
	PageText(t, tab, `"provider"`)
	return tab
}

// Navigate loads a URL in the tab.
func Navigate(t testing.TB, tab context.Context, u string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Navigate(u)); err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
}

// Text is the tab's text now ("" while a navigation is under way).
func Text(tab context.Context) string {
	s, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return s
}

// PageText waits until the tab's text contains want and returns it.
func PageText(t testing.TB, tab context.Context, want string) string {
	t.Helper()
	text := ""
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if text = Text(tab); strings.Contains(text, want) {
			return text
		}
	}
	t.Fatalf("the page never showed %q; it shows %q", want, text)
	return ""
}

// StoreCredentials keeps what the portal's sign-in keeps for its tab, on
// the origin the tab shows.
func StoreCredentials(t testing.TB, tab context.Context, auth string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`sessionStorage.setItem("ferry.auth", %q)`, auth))); err != nil {
		t.Fatal(err)
	}
}

// ProbeScript is a function page's script trying what the gateway's
// origin allows: the portal's stored credentials, the API with the
// browser's cached ones, and a deployment of the function named
// deployName. It ends by showing "done {results}".
func ProbeScript(deployName string) string {
	return `(async () => {
  const res = {};
  try { res.storage = String(sessionStorage.getItem("ferry.auth")); } catch (e) { res.storage = "denied " + e.name; }
  try { const r = await fetch("/system/functions", { credentials: "include" }); res.api = r.status + " " + (await r.text()); } catch (e) { res.api = "denied " + e.name; }
  try {
    const r = await fetch("/system/functions", { method: "POST", credentials: "include",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ service: "` + deployName + `", image: "x", envProcess: "cat" }) });
    res.deploy = r.status + " " + (await r.text());
  } catch (e) { res.deploy = "denied " + e.name; }
  document.body.textContent = "done " + JSON.stringify(res);
})();`
}

// FormPage is a page that at once submits a text/plain form to action.
// The browser sends "name=value": split a payload around a place where
// an "=" does no harm.
func FormPage(action, name, value string) string {
	return fmt.Sprintf(`<!doctype html><form method="POST" action="%s" enctype="text/plain">`+
		`<input type="hidden" name="%s" value="%s"></form><script>document.forms[0].submit()</script>`,
		html.EscapeString(action), html.EscapeString(name), html.EscapeString(value))
}
