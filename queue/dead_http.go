package queue

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
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
