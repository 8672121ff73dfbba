package gateway

import (
	"net/http"

	"github.com/ferryfaas/ferry/api"
)

// healthz is GET /healthz: 200 while serving, 503 once Drain was called.
func (g *Gateway) healthz(w http.ResponseWriter, r *http.Request) error {
	select {
	case <-g.draining:
		return api.Errorf(http.StatusServiceUnavailable, "shutting down")
	default:
	}
	w.Header()["Content-Type"] = textPlain
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("OK\n"))
	return nil
}
