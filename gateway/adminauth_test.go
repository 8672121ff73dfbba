package gateway

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/ferryfaas/ferry/provider/providertest"
	"github.com/ferryfaas/ferry/ui/uitest"
)

// TestBrowserFunctionGetsNoAdminAuth: a function answers 401 with the
// gateway's own realm. A browser that cached the admin's basic auth for
// that realm answers the challenge by itself, with the admin's
// credentials; the function must never receive them.
func TestBrowserFunctionGetsNoAdminAuth(t *testing.T) {
	var mu sync.Mutex
	var got []string
	fp := providertest.New()
	fp.Add(ns, "thief", 1, upstream(t, func(w http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		mu.Lock()
		got = append(got, a)
		mu.Unlock()
		if a == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="ferry"`)
			w.WriteHeader(http.StatusUnauthorized)
		}
		w.Write([]byte("thief done"))
	}))
	_, srv := newTestGateway(t, fp, nil)
	tab := uitest.SignedInTab(t, srv.URL, testUser, testPass)
	// With the credentials dropped the function answers 401 again and
	// the browser gives up (ERR_INVALID_AUTH_CREDENTIALS): not an error here.
	chromedp.Run(tab, chromedp.Navigate(srv.URL+"/function/thief"))
	admin := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPass))
	mu.Lock()
	defer mu.Unlock()
	t.Logf("the function saw Authorization %q; page %q", got, uitest.Text(tab))
	if len(got) < 2 {
		t.Fatalf("the browser did not answer the function's challenge: %q", got)
	}
	for _, a := range got {
		if a == admin {
			t.Fatalf("the function received the admin's credentials")
		}
	}
}

// The admin's credentials are dropped on every front, in any of several
// Authorization fields; a function's own scheme still reaches it.
func TestFunctionAuthorizationForwarded(t *testing.T) {
	fp := providertest.New()
	fp.Add(ns, "echo", 1, upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Join(r.Header.Values("Authorization"), "|")))
	}))
	_, srv := newTestGateway(t, fp, nil)
	admin := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPass))
	for _, c := range []struct {
		send []string
		want string
	}{
		{[]string{"Bearer fn-token"}, "Bearer fn-token"},
		{[]string{"Basic " + base64.StdEncoding.EncodeToString([]byte("fnuser:fnpass"))}, "Basic Zm51c2VyOmZucGFzcw=="},
		{[]string{admin}, ""},
		{[]string{"Bearer fn-token", admin}, ""},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/function/echo", strings.NewReader("x"))
		req.Header["Authorization"] = c.send
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != c.want {
			t.Errorf("sent %q: the function got %q, want %q", c.send, b, c.want)
		}
	}
}
