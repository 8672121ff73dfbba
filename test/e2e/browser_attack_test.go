package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
	"github.com/ferryfaas/ferry/ui/uitest"
)

// TestBrowserAttacks runs the two browser attacks on the admin's
// credentials against `ferry serve` (its event loop, a fork-mode `cat`
// function) in headless Chromium, from an attacker's page on another
// origin:
//   - a text/plain form POST of a deployment to /system/functions, with
//     the browser's cached basic auth: nothing is deployed;
//   - a text/plain form POST of an HTML page to the `cat` function, which
//     echoes it without a Content-Type (reflected into the gateway's
//     origin): its script reads neither the portal's stored credentials
//     nor the API, and deploys nothing.
func TestBrowserAttacks(t *testing.T) {
	f := harness.T(t, harness.Options{})
	deployCat(t, f, "echo-page")
	tab := uitest.SignedInTab(t, f.URL, f.User, f.Password)
	stored := base64.StdEncoding.EncodeToString([]byte(f.User + ":" + f.Password))
	uitest.StoreCredentials(t, tab, "Basic "+stored)

	var page string
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(page)) }))
	defer attacker.Close()
	origin := strings.Replace(attacker.URL, "127.0.0.1", "localhost", 1) // another site

	exists := func(name string) bool {
		code, _, err := f.Do("GET", "/system/function/"+name, nil)
		return err == nil && code == http.StatusOK
	}
	field := `{"service":"pwned-form","image":"cat","envProcess":"id","x":"`
	page = uitest.FormPage(f.URL+"/system/functions", field, `"}`)
	uitest.Navigate(t, tab, origin)
	text := ""
	for i := 0; i < 200 && !exists("pwned-form") && !strings.Contains(text, "cross-origin"); i++ {
		time.Sleep(50 * time.Millisecond)
		text = uitest.Text(tab)
	}
	if exists("pwned-form") {
		t.Errorf("the cross-site form deployed a function (the gateway answered %q)", text)
	} else if !strings.Contains(text, "cross-origin") {
		t.Errorf("the gateway answered the cross-site form with %q, want the cross-origin refusal", text)
	}

	// The "=" the form inserts falls in a JavaScript comment.
	page = uitest.FormPage(f.URL+"/function/echo-page", `<!doctype html><html><body>running<script>/*`,
		fmt.Sprintf(`*/%s</script></body></html>`, uitest.ProbeScript("pwned-page")))
	uitest.Navigate(t, tab, origin)
	text = uitest.PageText(t, tab, "done ")
	t.Logf("the reflected page's script found: %s", text)
	if strings.Contains(text, stored) {
		t.Errorf("the function's page read the portal's credentials: %s", text)
	}
	if strings.Contains(text, `"api":"200`) || strings.Contains(text, `echo-page`) {
		t.Errorf("the function's page read the API: %s", text)
	}
	if exists("pwned-page") {
		t.Errorf("the function's page deployed a function: %s", text)
	}
}
