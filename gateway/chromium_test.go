package gateway

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/provider/providertest"
	"github.com/ferryfaas/ferry/ui/uitest"
)

// The browser attacks on the admin's credentials, in real headless
// Chromium against a served gateway (the front FERRY_TEST_FRONT says);
// test/e2e runs them against `ferry serve` with a fork-mode function.

// TestBrowserCrossSiteForm: a page of another origin auto-submits a
// text/plain form whose body is a deployment (the form's field name and
// value join around "=" inside a JSON string) to /system/functions; the
// browser attaches the cached credentials. Nothing may be deployed.
func TestBrowserCrossSiteForm(t *testing.T) {
	fp := providertest.New()
	_, srv := newTestGateway(t, fp, nil)
	tab := uitest.SignedInTab(t, srv.URL, testUser, testPass)
	for _, host := range []string{"127.0.0.1", "localhost"} { // same site, other port; another site
		name := "pwned-" + strings.ReplaceAll(host, ".", "-")
		field := fmt.Sprintf(`{"service":"%s","image":"x","envProcess":"sh -c id","x":"`, name)
		attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(uitest.FormPage(srv.URL+"/system/functions", field, `"}`)))
		}))
		defer attacker.Close()
		uitest.Navigate(t, tab, strings.Replace(attacker.URL, "127.0.0.1", host, 1))
		// The form's answer replaces the attacker's (empty) page: the
		// request was made.
		deployed := func() bool { _, err := fp.Get(t.Context(), ns, name); return err == nil }
		text := ""
		for i := 0; i < 200 && !deployed() && !strings.Contains(text, "cross-origin"); i++ {
			time.Sleep(50 * time.Millisecond)
			text = uitest.Text(tab)
		}
		if deployed() {
			t.Errorf("from %s: the cross-site form deployed %s (the gateway answered %q)", host, name, text)
		} else if !strings.Contains(text, "cross-origin") {
			t.Errorf("from %s: the gateway answered the form with %q, want the cross-origin refusal", host, text)
		}
	}
}

// TestBrowserFunctionPage: the portal's tab (credentials in its
// sessionStorage, basic auth cached) opens a function's HTML page, served
// without a Content-Type as a fork-mode function's. Its script must not
// read the portal's storage, read the API or deploy.
func TestBrowserFunctionPage(t *testing.T) {
	fp := providertest.New()
	fp.Add(ns, "page", 1, upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil
		w.Write([]byte("<!doctype html><html><body>running<script>" + uitest.ProbeScript("pwned") + "</script></body></html>"))
	}))
	_, srv := newTestGateway(t, fp, nil)
	tab := uitest.SignedInTab(t, srv.URL, testUser, testPass)
	stored := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass))
	uitest.StoreCredentials(t, tab, "Basic "+stored)
	uitest.Navigate(t, tab, srv.URL+"/function/page")
	text := uitest.PageText(t, tab, "done ")
	t.Logf("the function page's script found: %s", text)
	if strings.Contains(text, stored) {
		t.Errorf("the function page read the portal's credentials: %s", text)
	}
	if strings.Contains(text, `"api":"200`) || strings.Contains(text, `"name":"page"`) {
		t.Errorf("the function page read the API: %s", text)
	}
	if _, err := fp.Get(t.Context(), ns, "pwned"); err == nil || strings.Contains(text, `"deploy":"202`) {
		t.Errorf("the function page deployed a function: %s", text)
	}
}
