package queue

import (
	"context"
	"errors"
	"fmt"
	"github.com/ferryfaas/ferry/gateway"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
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

// transports are the callback client's: net/http's, and the gateway's
// lean client; every guard holds for both.
var transports = map[string]func(DialFunc, http.RoundTripper) http.RoundTripper{
	"net/http": nil,
	"lean": func(d DialFunc, fb http.RoundTripper) http.RoundTripper {
		return gateway.NewLeanTransport(d, 30*time.Second, fb)
	},
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
	for name, lean := range transports {
		for _, c := range cases {
			allow, err := ParseAllowList(c.allow)
			if err != nil {
				t.Fatal(err)
			}
			before := hits.Load()
			_, err = postTo(callbackClient(allow, lean), c.url)
			reached := hits.Load() > before
			if (err == nil) != c.ok || reached != c.ok {
				t.Errorf("%s: allow %v, %s: error %v, reached %v; want allowed=%v", name, c.allow, c.url, err, reached, c.ok)
			}
			if !c.ok && err != nil && !strings.Contains(err.Error(), "allow-list") {
				t.Errorf("%s: refusal does not name the allow-list: %v", name, err)
			}
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
	for name, lean := range transports {
		code, err := postTo(callbackClient(nil, lean), outer.URL)
		if err != nil || code != http.StatusTemporaryRedirect {
			t.Fatalf("%s: got %d, %v: want the 307 itself", name, code, err)
		}
		if innerHits.Load() != 0 {
			t.Fatalf("%s: the callback followed the redirect", name)
		}
	}
}

// portOf is the port of a test server.
func portOfServer(t *testing.T, s *httptest.Server) int {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCallbackRefusedByDefault: with no allow-list, every target class an
// anonymous caller must not reach is a 400 at enqueue naming the header,
// while a receiver on another loopback port is accepted.
func TestCallbackRefusedByDefault(t *testing.T) {
	r := newRig(t, rigOptions{noWorker: true, fn: func(http.ResponseWriter, *http.Request) {}})
	r.fns.add("openfaas-fn", "echo", nil, nil)
	own := portOfServer(t, r.async) // the "gateway" of this rig
	r.allow.OwnPorts = []int{own}
	r.allow.Resolve = func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "meta.example":
			return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
		case "localhost":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, nil
		}
		return nil, errors.New("no such host")
	}
	ownURL := fmt.Sprintf("http://127.0.0.1:%d/system/functions", own)
	for _, c := range []struct {
		url  string
		want int
	}{
		{"http://169.254.169.254/latest/meta-data/", 400},
		{"http://[fe80::1]:8080/", 400},
		{"http://metadata.google.internal/computeMetadata/v1/", 400},
		{"http://meta.example/", 400}, // a name resolving to link-local
		{"http://[fd00:ec2::254]/", 400},
		{"http://0.0.0.0:9/", 400},
		{"http://[::]:9/", 400},
		{"http://224.0.0.1:9/", 400},
		{ownURL, 400},
		{fmt.Sprintf("http://localhost:%d/system/functions", own), 400},
		{fmt.Sprintf("http://[::1]:%d/", own), 400},
		{"http://user:s3cret@127.0.0.1:9/", 400},
		// inet_aton's forms of an address, and a root-dotted name.
		{"http://127.1:9/", 400},
		{"http://0:9/", 400},
		{"http://2130706433:9/", 400},
		{"http://0x7f000001:9/", 400},
		{"http://0177.0.0.1:9/", 400},
		{fmt.Sprintf("http://localhost.:%d/system/functions", own), 400},
		{"http://127.0.0.1:9/cb", 202}, // loopback receivers on other ports stay allowed
		{"http://localhost:9/cb", 202},
	} {
		resp, err := http.DefaultClient.Do(mustReq(t, r.async.URL+"/async-function/echo", c.url))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: got %d %q, want %d", c.url, resp.StatusCode, body, c.want)
			continue
		}
		if c.want == 400 && !strings.Contains(string(body), "X-Callback-Url") {
			t.Errorf("%s: refusal does not name the header: %q", c.url, body)
		}
		if strings.Contains(string(body), "s3cret") {
			t.Errorf("refusal repeats the password: %q", body)
		}
	}
}

func mustReq(t *testing.T, url, callback string) *http.Request {
	req, err := http.NewRequest("POST", url, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Callback-Url", callback)
	return req
}

// TestCallbackDialTimeRefusal: the address is judged when the callback is
// sent, on what the name resolves to then: a name accepted at enqueue and
// re-pointed at the metadata service or at the gateway gets nothing.
func TestCallbackDialTimeRefusal(t *testing.T) {
	for name, lean := range transports {
		t.Run(name, func(t *testing.T) { callbackDialTimeRefusal(t, lean) })
	}
}

func callbackDialTimeRefusal(t *testing.T, lean func(DialFunc, http.RoundTripper) http.RoundTripper) {
	gw, gwHits := target(t, nil) // stands for the gateway's own listener
	rcv, rcvHits := target(t, nil)
	var rebound atomic.Bool
	a, _ := ParseAllowList(nil)
	a.OwnPorts = []int{portOfServer(t, gw)}
	a.Resolve = func(_ context.Context, host string) ([]netip.Addr, error) {
		if host == "rebind.example" && rebound.Load() {
			return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	c := callbackClient(a, lean)
	rebindURL := fmt.Sprintf("http://rebind.example:%d/", portOfServer(t, rcv))
	if err := a.ValidateCallback(t.Context(), rebindURL); err != nil {
		t.Fatalf("enqueue-time check refused %s: %v", rebindURL, err)
	}
	if _, err := postTo(c, rebindURL); err != nil || rcvHits.Load() != 1 {
		t.Fatalf("before rebinding: %v, %d hits", err, rcvHits.Load())
	}
	c.CloseIdleConnections()
	rebound.Store(true)
	if _, err := postTo(c, rebindURL); err == nil || !strings.Contains(err.Error(), "link-local") {
		t.Errorf("rebound to metadata: got %v, want a link-local refusal", err)
	}
	gwURL := fmt.Sprintf("http://self.example:%d/system/functions", portOfServer(t, gw))
	if _, err := postTo(c, gwURL); err == nil || !strings.Contains(err.Error(), "own listener") {
		t.Errorf("to the gateway's own port: got %v", err)
	}
	if gwHits.Load() != 0 || rcvHits.Load() != 1 {
		t.Fatalf("refused callbacks arrived: gateway %d, receiver %d", gwHits.Load(), rcvHits.Load())
	}
}

// TestCallbackCredentialsNeverLogged: a callback URL with user:password
// (queued before such URLs were refused) is logged and listed without
// the password and not sent as Authorization.
func TestCallbackCredentialsNeverLogged(t *testing.T) {
	var auth atomic.Value
	rcv, _ := target(t, func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusBadGateway)
	})
	var logs harness.LockedBuffer
	w := NewWorker(WorkerConfig{CallbackAttempts: 1, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	u := strings.Replace(rcv.URL, "http://", "http://alice:s3cret@", 1)
	w.callback(t.Context(), &Request{CallID: "c1", Function: "f", Namespace: "ns", CallbackURL: u}, result{status: 200})
	if got, _ := auth.Load().(string); got != "" {
		t.Errorf("credentials sent as Authorization: %q", got)
	}
	if out := logs.String(); strings.Contains(out, "s3cret") || !strings.Contains(out, "callback failed") {
		t.Errorf("log: %s", out)
	}
	if got := RedactURL(u); strings.Contains(got, "s3cret") || strings.Contains(got, "alice") {
		t.Errorf("RedactURL kept credentials: %s", got)
	}
}

type countingRT struct {
	n  atomic.Int32
	rt http.RoundTripper
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// TestCallbackTransportIsUsed: a worker given CallbackTransport (serve's
// --async-callback-lean) sends its callbacks through it, built around the
// allow-list dialer.
func TestCallbackTransportIsUsed(t *testing.T) {
	rcv, hits := target(t, nil)
	var built atomic.Int32
	rt := &countingRT{}
	w := NewWorker(WorkerConfig{CallbackAttempts: 1, CallbackTransport: func(d DialFunc, fb http.RoundTripper) http.RoundTripper {
		built.Add(1)
		rt.rt = transports["lean"](d, fb)
		return rt
	}})
	w.callback(t.Context(), &Request{CallID: "c1", Function: "f", Namespace: "ns", CallbackURL: rcv.URL + "/cb"}, result{status: 200})
	if built.Load() != 1 || rt.n.Load() != 1 || hits.Load() != 1 {
		t.Fatalf("transport built %d times, used %d times; receiver hit %d times", built.Load(), rt.n.Load(), hits.Load())
	}
}
