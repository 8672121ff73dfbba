package queue

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// target is a loopback callback receiver counting what reaches it.
func target(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func postTo(c *http.Client, url string) (int, error) {
	resp, err := c.Post(url, "text/plain", strings.NewReader("result"))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestCallbackDialGuard: the worker's callback client connects only to
// what the allow-list permits, judged on the address it connects to.
func TestCallbackDialGuard(t *testing.T) {
	srv, hits := target(t, nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	cases := []struct {
		allow []string
		url   string
		ok    bool
	}{
		{[]string{"127.0.0.0/8"}, "http://127.0.0.1:" + port + "/", true},
		{[]string{"127.0.0.0/8"}, "http://localhost:" + port + "/", true}, // name resolved into the range at dial
		{[]string{"localhost"}, "http://localhost:" + port + "/", true},   // allowed by name
		{[]string{"10.0.0.0/8"}, "http://127.0.0.1:" + port + "/", false},
		{[]string{"10.0.0.0/8"}, "http://localhost:" + port + "/", false}, // as if it had been rebound after enqueue
		{nil, "http://127.0.0.1:" + port + "/", true},
	}
	for _, c := range cases {
		allow, err := ParseAllowList(c.allow)
		if err != nil {
			t.Fatal(err)
		}
		before := hits.Load()
		_, err = postTo(callbackClient(allow), c.url)
		reached := hits.Load() > before
		if (err == nil) != c.ok || reached != c.ok {
			t.Errorf("allow %v, %s: error %v, reached %v; want allowed=%v", c.allow, c.url, err, reached, c.ok)
		}
		if !c.ok && err != nil && !strings.Contains(err.Error(), "allow-list") {
			t.Errorf("refusal does not name the allow-list: %v", err)
		}
	}
}

// TestCallbackFollowsNoRedirect: an allowed target cannot bounce the POST
// to another address.
func TestCallbackFollowsNoRedirect(t *testing.T) {
	inner, innerHits := target(t, nil)
	outer, _ := target(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner.URL+"/internal", http.StatusTemporaryRedirect)
	})
	code, err := postTo(callbackClient(nil), outer.URL)
	if err != nil || code != http.StatusTemporaryRedirect {
		t.Fatalf("got %d, %v: want the 307 itself", code, err)
	}
	if innerHits.Load() != 0 {
		t.Fatal("the callback followed the redirect")
	}
}
