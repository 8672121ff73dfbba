package gateway

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ferryfaas/ferry/ui/uitest"
)

// The browser attacks on the admin's credentials, in real headless
// Chromium against a served gateway (the front FERRY_TEST_FRONT says).

// browserTab starts Chromium with a fresh profile and signs in to the
// gateway the way a browser caches basic auth: a navigation with the
// credentials, after which the browser answers the gateway's challenges
// by itself.
func browserTab(t *testing.T, gw string) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test")
	}
	if _, err := uitest.FindChromium(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	tab, closeTab, err := uitest.NewBrowser(ctx, t.TempDir(), 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeTab)
	u, _ := url.Parse(gw + "/system/info")
	u.User = url.UserPassword(testUser, testPass)
	if err := chromedp.Do(tab, chromedp.Navigate(u.String())); err != nil {
		t.Fatal(err)
	}
	if body := pageText(t, tab, `"provider"`); !strings.Contains(body, `"provider"`) {
		t.Fatalf("signing in showed %q", body)
	}
	return tab
}

// pageText waits until the tab's document says done and returns its text.
func pageText(t *testing.T, tab context.Context, done string) string {
	t.Helper()
	text := ""
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		// A navigating page may fail an evaluation: ask again.
		s, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		if err == nil {
			text = s
			if strings.Contains(text, done) {
				return text
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the page never said %q; it shows %q", done, text)
	return ""
}

// TestBrowserCrossSiteForm: a page of another origin auto-submits a
// text/plain form whose body is a deployment (the form's one field name
// and value join around "=" inside a JSON string) to /system/functions;
// the browser attaches the cached credentials. Nothing may be deployed.
func TestBrowserCrossSiteForm(t *testing.T) {
	fp := newFake()
	_, srv := newTestGateway(t, fp, nil)
	tab := browserTab(t, srv.URL)
	for _, host := range []string{"127.0.0.1", "localhost"} { // same site, other port; another site
		name := "pwned-" + strings.ReplaceAll(host, ".", "-")
		field := fmt.Sprintf(`{"service":"%s","image":"x","envProcess":"sh -c id","x":"`, name)
		attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<!doctype html><form method="POST" action="%s/system/functions" enctype="text/plain">`+
				`<input type="hidden" name="%s" value='"}'></form><script>document.forms[0].submit()</script>`,
				srv.URL, html.EscapeString(field))
		}))
		defer attacker.Close()
		page := strings.Replace(attacker.URL, "127.0.0.1", host, 1)
		if err := chromedp.Do(tab, chromedp.Navigate(page)); err != nil {
			t.Fatal(err)
		}
		// The form's answer replaces the attacker's page: the request was made.
		text := pageText(t, tab, "")
		for i := 0; i < 100 && text == ""; i++ {
			time.Sleep(50 * time.Millisecond)
			text = pageText(t, tab, "")
		}
		if _, err := fp.Get(t.Context(), ns, name); err == nil {
			t.Errorf("from %s: the cross-site form deployed %s (the gateway answered %q)", host, name, text)
			continue
		}
		if !strings.Contains(text, "cross-origin") {
			t.Errorf("from %s: the gateway answered the form with %q, want the cross-origin refusal", host, text)
		}
	}
}

// attackPage is a function's HTML answer (no Content-Type, as a fork-mode
// function gives) whose script tries what the gateway's origin allows:
// the portal's stored credentials, the API with the cached ones, and a
// deployment.
const attackPage = `<!doctype html><html><body><pre id="out">running</pre><script>
(async () => {
  const res = {};
  try { res.storage = String(sessionStorage.getItem("ferry.auth")); } catch (e) { res.storage = "denied " + e.name; }
  try { const r = await fetch("/system/functions", { credentials: "include" }); res.api = r.status + " " + (await r.text()); } catch (e) { res.api = "denied " + e.name; }
  try {
    const r = await fetch("/system/functions", { method: "POST", credentials: "include",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ service: "pwned", image: "x" }) });
    res.deploy = r.status + " " + (await r.text());
  } catch (e) { res.deploy = "denied " + e.name; }
  document.getElementById("out").textContent = "done " + JSON.stringify(res);
})();
</script></body></html>`

// TestBrowserFunctionPage: the portal's tab (credentials in its
// sessionStorage, basic auth cached) opens a function's HTML page. Its
// script must not read the portal's storage, read the API or deploy.
func TestBrowserFunctionPage(t *testing.T) {
	fp := newFake()
	fp.addFunction(ns, "page", 1, upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil
		w.Write([]byte(attackPage))
	}))
	_, srv := newTestGateway(t, fp, nil)
	tab := browserTab(t, srv.URL)
	stored := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPass))
	// What the portal's sign-in keeps for its tab.
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`sessionStorage.setItem("ferry.auth", %q)`, stored))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/function/page")); err != nil {
		t.Fatal(err)
	}
	text := pageText(t, tab, "done ")
	t.Logf("the function page's script found: %s", text)
	if strings.Contains(text, stored[len("Basic "):]) {
		t.Errorf("the function page read the portal's credentials: %s", text)
	}
	if strings.Contains(text, `"api":"200`) || strings.Contains(text, `"name":"page"`) {
		t.Errorf("the function page read the API: %s", text)
	}
	if _, err := fp.Get(t.Context(), ns, "pwned"); err == nil || strings.Contains(text, `"deploy":"202`) {
		t.Errorf("the function page deployed a function: %s", text)
	}
}
