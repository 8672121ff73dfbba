package queue

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/gateway"
	"github.com/ferryfaas/ferry/provider/providertest"
)

// TestAsyncContractHeadersAsSync: a caller sending two X-Forwarded-For
// fields, its own X-Forwarded-Host and a Proxy-Authorization reaches the
// function through the queue (the in-process worker on the real
// gateway's InvokeLocal) with the headers a call to /function/ brings:
// every X-Forwarded-For value then the caller's address, its
// X-Forwarded-Host kept, the hop-by-hop field dropped.
func TestAsyncContractHeadersAsSync(t *testing.T) {
	seen := make(chan string, 2)
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- strings.Join(r.Header.Values("X-Forwarded-For"), "|") + " host=" + strings.Join(r.Header.Values("X-Forwarded-Host"), "|") +
			" proxy-auth=" + r.Header.Get("Proxy-Authorization") + " id=" + r.Header.Get("X-Call-Id")
	}))
	t.Cleanup(fn.Close)
	fp := providertest.New()
	fp.Add("openfaas-fn", "echo", 1, strings.TrimPrefix(fn.URL, "http://"))
	g, err := gateway.New(gateway.Config{Provider: fp, Credentials: gateway.Credentials{User: "u", Password: "p"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	r := newRig(t, rigOptions{gw: g})
	r.fns.add("openfaas-fn", "echo", nil, nil)
	call := func(url string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("x"))
		req.Header = http.Header{"X-Forwarded-For": {"10.0.0.1", " 10.0.0.2 "}, "X-Forwarded-Host": {"caller.example"},
			"Proxy-Authorization": {"Basic eDp5"}, "X-Call-Id": {"contract-1"}}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		select {
		case s := <-seen:
			return s
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the function was not called", url)
			return ""
		}
	}
	sync := call(r.gateway.URL + "/function/echo")
	if want := "10.0.0.1, 10.0.0.2, 127.0.0.1 host=caller.example proxy-auth= id=contract-1"; sync != want {
		t.Fatalf("sync call: %q, want %q", sync, want)
	}
	if async := call(r.async.URL + "/async-function/echo"); async != sync {
		t.Fatalf("async call: %q, sync call: %q", async, sync)
	}
}

// TestCallHeaders: a stored call (one queued before enqueue dropped
// hop-by-hop fields too) is invoked with what the sync path forwards:
// no hop-by-hop field, Expect or Proxy-Authorization among them, nor the
// framing; the caller's X-Forwarded-Host kept, its Host otherwise.
func TestCallHeaders(t *testing.T) {
	w := &Worker{id: "w1"}
	req := &Request{CallID: "c1", Host: "gw.example", StartTime: 5, Header: http.Header{
		"Proxy-Authorization": {"Basic eDp5"}, "Expect": {"100-continue"}, "Te": {"trailers"},
		"Content-Length": {"3"}, "X-Forwarded-For": {"10.0.0.1, 127.0.0.1"}, "X-Custom": {"v"}}}
	h := http.Header{}
	w.callHeaders(h, req)
	want := http.Header{"X-Call-Id": {"c1"}, "X-Queue-Worker": {"w1"}, "X-Start-Time": {"5"},
		"X-Forwarded-For": {"10.0.0.1, 127.0.0.1"}, "X-Forwarded-Host": {"gw.example"}, "X-Custom": {"v"}}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("invoked with %v, want %v", h, want)
	}
	req.Header["X-Forwarded-Host"] = []string{"caller.example"}
	h = http.Header{}
	w.callHeaders(h, req)
	if got := h["X-Forwarded-Host"]; len(got) != 1 || got[0] != "caller.example" {
		t.Fatalf("X-Forwarded-Host %q, want the caller's", got)
	}
}
