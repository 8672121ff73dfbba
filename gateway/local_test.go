package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/provider/providertest"
)

// localRequest is a call as the queue worker hands it over.
func localRequest(method, query string, hdr ...string) *http.Request {
	r := (&http.Request{Method: method, URL: &url.URL{RawQuery: query}, Header: http.Header{}, Host: "127.0.0.1:8080",
		RemoteAddr: "127.0.0.1:0"}).WithContext(context.Background())
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

// TestInvokeLocal: a call handed over in process reaches the replica
// with its sub-path, query, headers and body (larger than the in-memory
// replay bound too), keeps its X-Call-Id, is counted by the Observer like
// /function/, wakes a function scaled to zero, and a replica's 429 and an
// unknown function come back as they would over HTTP.
func TestInvokeLocal(t *testing.T) {
	type seen struct {
		path, query, callID, host string
		body                      int
	}
	got := make(chan seen, 8)
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.URL.Path, r.URL.RawQuery, r.Header.Get("X-Call-Id"), r.Header.Get("X-Forwarded-Host"), len(b)}
		if r.URL.Query().Get("busy") != "" {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("X-Answer", "yes")
		io.WriteString(w, "ok")
	})
	fp := providertest.New()
	fp.Add(ns, "echo", 1, addr)
	fp.Add(ns, "idle", 0)
	waker := &funcWaker{f: func(ns, name string) error {
		fp.Edit(ns, name, func(fn *providertest.Function) { fn.Replicas = 1 })
		go fp.SetEndpoints(ns, name, addr)
		return nil
	}}
	obs := &recordingObserver{}
	g, _ := newTestGateway(t, fp, func(c *Config) { c.Observer, c.Waker = obs, waker })

	body := []byte(strings.Repeat("x", replayMax+10))
	rw := httptest.NewRecorder()
	g.InvokeLocal(rw, localRequest("POST", "a=1", "X-Call-Id", "q-1", "X-Forwarded-Host", "front.example"), "echo", ns, "/sub/p%2Fq", body)
	if rw.Code != 200 || rw.Body.String() != "ok" || rw.Header().Get("X-Answer") != "yes" || rw.Header().Get("X-Call-Id") != "q-1" {
		t.Fatalf("answer %d %q %v", rw.Code, rw.Body, rw.Header())
	}
	if s := <-got; s.path != "/sub/p/q" || s.query != "a=1" || s.callID != "q-1" || s.host != "front.example" || s.body != len(body) {
		t.Fatalf("the replica saw %+v", s)
	}

	rw = httptest.NewRecorder()
	g.InvokeLocal(rw, localRequest("GET", "busy=1", "X-Call-Id", "q-2"), "echo", ns, "", nil)
	if rw.Code != http.StatusTooManyRequests {
		t.Fatalf("a busy replica: %d, want 429", rw.Code)
	}
	<-got

	rw = httptest.NewRecorder()
	g.InvokeLocal(rw, localRequest("GET", ""), "idle", ns, "", nil)
	if rw.Code != 200 || waker.calls.Load() != 1 {
		t.Fatalf("a function scaled to zero: %d, %d wakes", rw.Code, waker.calls.Load())
	}
	<-got

	rw = httptest.NewRecorder()
	g.InvokeLocal(rw, localRequest("GET", ""), "gone", ns, "", nil)
	if rw.Code != http.StatusNotFound || !strings.Contains(rw.Body.String(), "gone") {
		t.Fatalf("an unknown function: %d %q", rw.Code, rw.Body)
	}

	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.started) != 3 || len(obs.codes) != 3 || obs.codes[0] != 200 || obs.codes[1] != 429 || obs.started[0] != "echo."+ns {
		t.Fatalf("observed started %v finished %v codes %v", obs.started, obs.finished, obs.codes)
	}
}
