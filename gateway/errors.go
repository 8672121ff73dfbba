package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ferryfaas/ferry/api"
)

// handlerFunc is an API handler: it writes its success response itself and
// returns an error for the wrapper to write, so that every error is
// answered the same way.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// wrap turns a handlerFunc into an http.Handler.
func (g *Gateway) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			g.writeError(w, err)
		}
	})
}

// writeError answers with the error's status and a one-line plain-text
// body, marked as coming from the platform rather than a function.
func (g *Gateway) writeError(w http.ResponseWriter, err error) {
	status := api.StatusOf(err)
	msg := errorMessage(err)
	if status >= 500 && !isAPIError(err) {
		g.log.Error("gateway: internal error", "err", msg)
	}
	writeText(w, status, msg)
}

func writeText(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h["Content-Type"] = textPlain
	h["X-Content-Type-Options"] = noSniff
	h["X-Openfaas-Internal"] = internalGateway
	h.Del("Content-Length")
	w.WriteHeader(status)
	w.Write([]byte(msg + "\n"))
}

var (
	textPlain       = []string{"text/plain; charset=utf-8"}
	noSniff         = []string{"nosniff"}
	internalGateway = []string{"gateway"}
)

// errorMessage is err's text on one line.
func errorMessage(err error) string {
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		msg = strings.Join(strings.Fields(msg), " ")
	}
	if msg == "" {
		msg = http.StatusText(api.StatusOf(err))
	}
	return msg
}

func isAPIError(err error) bool {
	var e *api.Error
	return errors.As(err, &e)
}

// recoverPanic is the last resort: no input may crash the server. A panic
// with http.ErrAbortHandler is the deliberate way to cut a response short
// and is passed on.
func (g *Gateway) recoverPanic(w http.ResponseWriter, r *http.Request) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler {
		panic(p)
	}
	g.log.Error("gateway: recovered from a panic", "method", r.Method, "path", r.URL.Path, "panic", p)
	writeText(w, http.StatusInternalServerError, "internal error in the gateway; the request was not completed, see the server log")
}

// mounted serves h, or 404 with a reason when the feature is off.
func (g *Gateway) mounted(h http.Handler, off string) http.Handler {
	if h != nil {
		return h
	}
	return g.wrap(func(w http.ResponseWriter, r *http.Request) error {
		return api.Errorf(http.StatusNotFound, "%s", off)
	})
}
