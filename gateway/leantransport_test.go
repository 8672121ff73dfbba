package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type fallbackRT struct{ n atomic.Int32 }

func (f *fallbackRT) RoundTrip(*http.Request) (*http.Response, error) {
	f.n.Add(1)
	return nil, errors.New("fallback")
}

// TestLeanTransport: a POST goes out with its path, query, headers and
// body through the given dialer, and the connection is kept for the next
// one (also after the receiver closed it while idle); other schemes go to
// the fallback; a dialer's refusal is the error.
func TestLeanTransport(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("X-Call-Id")+" "+string(b))
		w.WriteHeader(http.StatusAccepted)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	var dials atomic.Int32
	d := &net.Dialer{}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		if strings.HasPrefix(addr, "refused.example") {
			return nil, errors.New("not on the allow-list")
		}
		return d.DialContext(ctx, network, addr)
	}
	fb := &fallbackRT{}
	lt := NewLeanTransport(dial, 5*time.Second, fb)
	c := &http.Client{Transport: lt}
	post := func(url string) (string, error) {
		req, _ := http.NewRequest("POST", url, strings.NewReader("result"))
		req.Header.Set("X-Call-Id", "c-1")
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.Header.Get("X-Seen"), nil
	}
	for i := 0; i < 3; i++ {
		got, err := post(srv.URL + "/cb/x?a=1")
		if err != nil || got != "POST /cb/x?a=1 c-1 result" {
			t.Fatalf("call %d: %q, %v", i, got, err)
		}
	}
	if dials.Load() != 1 || conns.Load() != 1 {
		t.Fatalf("%d dials, %d connections for 3 calls: want the connection kept", dials.Load(), conns.Load())
	}
	// The receiver closes idle connections: the next call still goes through.
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	if got, err := post(srv.URL); err != nil || got != "POST / c-1 result" {
		t.Fatalf("after the receiver closed the idle connection: %q, %v", got, err)
	}
	if _, err := post("http://refused.example:80/"); err == nil || !strings.Contains(err.Error(), "allow-list") {
		t.Fatalf("refused by the dialer: %v", err)
	}
	if _, err := post("https://example.com/"); err == nil || fb.n.Load() != 1 {
		t.Fatalf("https: %v, fallback used %d times", err, fb.n.Load())
	}
}
