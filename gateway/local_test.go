package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/provider/providertest"
	"github.com/ferryfaas/ferry/test/harness"
)

// localRequest is a call as the queue worker hands it over.
func localRequest(method, query string, hdr ...string) *http.Request {
	r := (&http.Request{Method: method, URL: &url.URL{RawQuery: query}, Header: http.Header{}, Host: "127.0.0.1:8080"}).
		WithContext(context.Background())
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

// A large body handed over in process reaches a function that answers as
// it reads (cat, the README's echo) and comes back whole: written whole
// before its answer was read, it used to fill the sockets both ways and
// hang until the function's timeout.
func TestInvokeLocalLargeBodyToStreamingFunction(t *testing.T) {
	cat := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		buf := make([]byte, 16<<10)
		for {
			n, err := r.Body.Read(buf)
			w.Write(buf[:n])
			w.(http.Flusher).Flush()
			if err != nil {
				return
			}
		}
	})
	// Served on a Unix socket too, as process replicas are: its buffers
	// (about 200 KiB each way) fill long before loopback TCP's.
	addr := upstream(t, cat)
	unix := harness.ServeUnix(t, &http.Server{Handler: cat})
	fp := providertest.New()
	fp.Add(ns, "cat", 1, addr)
	fp.Edit(ns, "cat", func(fn *providertest.Function) { fn.Endpoints[0].Unix = unix })
	g, _ := newTestGateway(t, fp, nil)
	body := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16) // 4 MiB
	rw := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.InvokeLocal(rw, localRequest("POST", "", "X-Call-Id", "big"), "cat", ns, "", body)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a 4 MiB body to a function that echoes as it reads did not come back within 20 s")
	}
	if rw.Code != 200 || !bytes.Equal(rw.Body.Bytes(), body) {
		t.Fatalf("answer %d, %d bytes, want 200 and the %d bytes sent", rw.Code, rw.Body.Len(), len(body))
	}
}

// TestAsyncForwardedFor: a queued call handed over in process (no peer:
// its X-Forwarded-For was completed at enqueue) reaches the function with
// the caller's list as it is. With this process's address added after
// it, a function trusting the last entry took every anonymous async
// caller for a local one.
func TestAsyncForwardedFor(t *testing.T) {
	got := make(chan []string, 2)
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Values("X-Forwarded-For") })
	fp := providertest.New()
	fp.Add(ns, "fn", 1, addr)
	g, _ := newTestGateway(t, fp, nil)
	g.InvokeLocal(httptest.NewRecorder(), localRequest("POST", "", "X-Forwarded-For", "198.51.100.7, 203.0.113.9"), "fn", ns, "", nil)
	if xff := <-got; len(xff) != 1 || xff[0] != "198.51.100.7, 203.0.113.9" {
		t.Fatalf("X-Forwarded-For %q, want the queued call's own list", xff)
	}
	g.InvokeLocal(httptest.NewRecorder(), localRequest("POST", ""), "fn", ns, "", nil)
	if xff := <-got; len(xff) != 0 {
		t.Fatalf("X-Forwarded-For %q with no list and no peer, want none", xff)
	}
}

// TestAsyncDropsAdminAuth: the admin's credentials sent with an async call
// (a browser that cached them sends them everywhere) are not handed to the
// queue, which would store them on disk with the call; a function's own
// Authorization is kept, as on a sync call.
func TestAsyncDropsAdminAuth(t *testing.T) {
	got := make(chan []string, 2)
	_, srv := newTestGateway(t, providertest.New(), func(c *Config) {
		c.Async = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r.Header.Values("Authorization")
			w.WriteHeader(http.StatusAccepted)
		})
	})
	for _, c := range []struct {
		auth string
		kept bool
	}{{"Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPass)), false}, {"Bearer the-function's-token", true}} {
		req, _ := http.NewRequest("POST", srv.URL+"/async-function/fn", strings.NewReader("x"))
		req.Header.Set("Authorization", c.auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if a := <-got; (len(a) == 1 && a[0] == c.auth) != c.kept {
			t.Errorf("Authorization %q reached the queue as %q; kept: want %v", c.auth, a, c.kept)
		}
	}
}
