package gateway

import "net/http"

// healthz is GET /healthz: the gateway answers once it is built; during
// shutdown the listener is closed, so there is no "draining" state to show.
func (g *Gateway) healthz(w http.ResponseWriter, r *http.Request) error {
	w.Header()["Content-Type"] = textPlain
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("OK\n"))
	return nil
}
