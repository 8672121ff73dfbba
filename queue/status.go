package queue

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// QueueStatus is what a queue holds right now, read from JetStream (so it
// covers every worker): GET /system/queue/status and `ferry queue status`.
type QueueStatus struct {
	// Queue is the queue's token: "fn.<ns>.<name>" or "q.<named queue>".
	Queue string `json:"queue"`
	// Function is "name.ns" for a function's own queue ("" for a named one).
	Function string `json:"function,omitempty"`
	// Pending calls wait for a worker; InFlight ones run now; Retrying ones
	// wait out a back-off before their next attempt.
	Pending  uint64 `json:"pending"`
	InFlight int    `json:"inFlight"`
	Retrying uint64 `json:"retrying"`
	// DeadLetters used up their attempts (`ferry queue dead-letters`).
	DeadLetters uint64 `json:"deadLetters"`
	// CallbacksPending are results still to be delivered to X-Callback-Url,
	// some perhaps failing and being retried.
	CallbacksPending uint64 `json:"callbacksPending"`
}

// Status reads every queue's state, sorted by queue.
func Status(ctx context.Context, js *JetStream) ([]QueueStatus, error) {
	rows := map[string]*QueueStatus{}
	row := func(tok string) *QueueStatus {
		r := rows[tok]
		if r == nil {
			_, fn := labelsOfToken(tok)
			r = &QueueStatus{Queue: tok, Function: fn}
			rows[tok] = r
		}
		return r
	}
	work, err := js.JS.Stream(ctx, StreamWork)
	if err != nil {
		return nil, err
	}
	l := work.ListConsumers(ctx)
	for ci := range l.Info() {
		if tok, ok := tokenOfConsumer(ci.Name); ok {
			r := row(tok)
			r.Pending, r.InFlight = ci.NumPending, ci.NumAckPending
		}
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	if err := countSubjects(ctx, work, subjRetryPrefix, func(tok string, n uint64) { row(tok).Retrying = n }); err != nil {
		return nil, err
	}
	// Callbacks and dead letters are kept per function: "<ns>.<name>".
	perFn := func(set func(*QueueStatus, uint64)) func(string, uint64) {
		return func(nsName string, n uint64) { set(row("fn."+nsName), n) }
	}
	if err := countSubjects(ctx, work, subjCallbackPrefix, perFn(func(r *QueueStatus, n uint64) { r.CallbacksPending = n })); err != nil {
		return nil, err
	}
	if dead, err := js.JS.Stream(ctx, StreamDead); err == nil {
		if err := countSubjects(ctx, dead, subjDeadPrefix, perFn(func(r *QueueStatus, n uint64) { r.DeadLetters = n })); err != nil {
			return nil, err
		}
	}
	out := make([]QueueStatus, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b QueueStatus) int { return strings.Compare(a.Queue, b.Queue) })
	return out, nil
}

// countSubjects reports the number of messages on each subject under
// prefix, without the prefix.
func countSubjects(ctx context.Context, s jetstream.Stream, prefix string, f func(rest string, n uint64)) error {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(prefix+">"))
	if err != nil {
		return err
	}
	for subj, n := range info.State.Subjects {
		f(strings.TrimPrefix(subj, prefix), n)
	}
	return nil
}

// Status serves GET /system/queue/status. A queue that was never started
// (no async call since the server started, nothing stored) is empty: the
// call does not start the embedded NATS server for that.
func (s *Service) Status() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		js := s.js
		s.mu.Unlock()
		if js == nil {
			writeJSON(w, http.StatusOK, []QueueStatus{})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		st, err := Status(ctx, js)
		if err != nil {
			writeError(w, unavailable(err))
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
}
