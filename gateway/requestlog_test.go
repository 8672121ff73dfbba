package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/provider/providertest"
	"github.com/ferryfaas/ferry/test/harness"
)

// TestLogRequests: with LogRequests, every call (small and streamed
// bodies, a failing one) leaves one line with its method, path, status,
// duration and call id; without it, none.
func TestLogRequests(t *testing.T) {
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	fp := providertest.New()
	fp.Add(ns, "echo", 1, addr)
	var logs harness.LockedBuffer
	_, srv := newTestGateway(t, fp, func(c *Config) {
		c.LogRequests = true
		c.Log = slog.New(slog.NewTextHandler(&logs, nil))
	})
	expect(t, call(t, "POST", srv.URL+"/function/echo", "hi", false, "X-Call-Id", "call-one"), 200, "")
	expect(t, call(t, "PUT", srv.URL+"/function/echo/fail", strings.Repeat("b", 100<<10), false, "X-Call-Id", "call-two"), 500, "")
	out := logs.String()
	for _, want := range []string{
		`msg=call method=POST path=/function/echo status=200 duration=`, `call_id=call-one`,
		`msg=call method=PUT path=/function/echo/fail status=500 duration=`, `call_id=call-two`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}

	var quiet harness.LockedBuffer
	_, srv = newTestGateway(t, fp, func(c *Config) { c.Log = slog.New(slog.NewTextHandler(&quiet, nil)) })
	expect(t, call(t, "POST", srv.URL+"/function/echo", "hi", false), 200, "")
	if strings.Contains(quiet.String(), "msg=call") {
		t.Errorf("a call was logged without LogRequests:\n%s", quiet.String())
	}
}
