package queue

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// DeadLetterHandlers serve the authenticated admin routes
// GET /system/queue/dead-letters?function=NAME.NS&limit=N and
// POST /system/queue/dead-letters/redrive?function=NAME.NS&seq=1,2&limit=N.
type DeadLetterHandlers struct {
	JS               *JetStream
	DefaultNamespace string
}

// List answers the dead letters as JSON.
func (d *DeadLetterHandlers) List() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := onlyParams(r, "function", "limit"); err != nil {
			writeError(w, err)
			return
		}
		limit, err := limitOf(r)
		if err != nil {
			writeError(w, err)
			return
		}
		ctx, cancel := ctxTimeout(r, 30*time.Second)
		defer cancel()
		out, err := ListDeadLetters(ctx, d.JS, r.URL.Query().Get("function"), d.DefaultNamespace, limit)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// Redrive re-queues dead letters and answers a RedriveResult.
func (d *DeadLetterHandlers) Redrive() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What to redrive is said in the query alone: a selection sent any
		// other way (a JSON body, a misspelt parameter) would otherwise be
		// ignored, and everything redriven.
		if err := onlyParams(r, "function", "seq", "limit"); err != nil {
			writeError(w, err)
			return
		}
		if r.ContentLength > 0 || r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
			writeError(w, api.BadRequest("redrive takes no body: select with the query parameters function, seq and limit"))
			return
		}
		limit, err := limitOf(r)
		if err != nil {
			writeError(w, err)
			return
		}
		seqs, err := ParseSeqs(r.URL.Query().Get("seq"))
		if err != nil {
			writeError(w, err)
			return
		}
		ctx, cancel := ctxTimeout(r, 5*time.Minute)
		defer cancel()
		res, err := Redrive(ctx, d.JS, r.URL.Query().Get("function"), d.DefaultNamespace, seqs, limit)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
}

// onlyParams refuses a query parameter other than those named.
func onlyParams(r *http.Request, names ...string) error {
	for k := range r.URL.Query() {
		if !slices.Contains(names, k) {
			return api.BadRequest("unknown query parameter %q: this route takes %s", k, strings.Join(names, ", "))
		}
	}
	return nil
}

func limitOf(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, api.BadRequest("limit %q must be a positive number", s)
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ctxTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}
