package queue

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// callbackMsg is a call's result waiting for delivery to its callback URL
// (the callback subject). Its body travels in the message, or in the body
// store (BodyRef) when too large for one.
type callbackMsg struct {
	Request  Request     `json:"request"` // Body and BodyRef unset
	Status   int         `json:"status"`
	Header   http.Header `json:"header,omitempty"`
	Body     []byte      `json:"body,omitempty"`
	BodyRef  string      `json:"bodyRef,omitempty"`
	Duration int64       `json:"duration"` // nanoseconds
}

// queueCallback stores the result for the callback consumer, so that the
// call can be acked at once: its function's concurrency slot is free while
// the receiver is slow or down, and the delivery survives a crash. If the
// queue cannot take it, the callback is sent from here as before.
func (w *Worker) queueCallback(ctx context.Context, req *Request, res result) {
	cm := callbackMsg{Request: *req, Status: res.status, Header: res.header, Body: res.body, Duration: int64(res.duration)}
	cm.Request.Body, cm.Request.BodyRef = nil, ""
	if res.err != nil && len(cm.Body) == 0 {
		cm.Body = []byte(errText(res))
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if len(cm.Body) > int(w.cfg.JS.NC.MaxPayload())/2 {
		ref := req.CallID + ".callback." + nuid.Next()
		if os, err := w.cfg.JS.bodies(pctx); err == nil {
			if _, err = os.PutBytes(pctx, ref, cm.Body); err == nil {
				cm.Body, cm.BodyRef = nil, ref
			}
		}
	}
	data, err := json.Marshal(cm)
	if err == nil {
		err = publishData(pctx, w.cfg.JS, subjCallbackPrefix+req.Namespace+"."+req.Function, data, nil)
	}
	if err != nil {
		w.log.Warn("queue worker: cannot queue a callback; sending it now", "call_id", req.CallID, "err", err)
		w.callback(ctx, req, res)
	}
}

// deliverCallback tries the receiver once (within CallbackDirect) and
// queues the callback only when that attempt did not settle it. The call
// is acked after this either way, so a crash in between repeats the call
// and its callback (same call id), as with a queued one; a receiver slower
// than CallbackDirect may get the callback twice. It reports false when
// the shutdown cut the attempt short: the call is then handed back rather
// than acked with its callback lost.
func (w *Worker) deliverCallback(ctx context.Context, req *Request, res result) bool {
	if w.cfg.CallbackDirect > 0 {
		code, err := w.postCallback(ctx, req, res, min(w.cfg.CallbackDirect, CallbackTimeout))
		if err == nil && !retryableStatus(code) {
			w.callbackAgain(req, code, err, 1, false) // counts and logs it
			return true
		}
		if ctx.Err() != nil {
			return false
		}
	}
	w.queueCallback(ctx, req, res)
	return true
}

// handleCallback delivers one queued callback: acked when the receiver
// took it (or refused it for good), retried with back-off on network
// errors and retryable statuses, up to CallbackAttempts deliveries. When
// its receiver already has CallbackPerHost deliveries running it waits
// instead (not counted as an attempt).
func (w *Worker) handleCallback(m jetstream.Msg, _ time.Duration) {
	var cm callbackMsg
	if err := json.Unmarshal(m.Data(), &cm); err != nil {
		w.log.Error("queue worker: dropping a callback that is not Ferry's", "subject", m.Subject(), "err", err)
		_ = m.Term()
		return
	}
	ctx := w.runCtx
	req := &cm.Request
	host := callbackHost(req.CallbackURL)
	var seq uint64
	delivered := 1
	if md, err := m.Metadata(); err == nil {
		seq, delivered = md.Sequence.Stream, int(md.NumDelivered)
	}
	if !w.cbHosts.acquire(host, w.cfg.CallbackPerHost, callbackSlotWait) {
		_ = m.NakWithDelay(w.cbHosts.waited(seq, host, w.cfg.CallbackPerHost)) // not an attempt
		return
	}
	took := time.Now()
	defer func() { w.cbHosts.release(host, time.Since(took)) }()
	res := result{status: cm.Status, header: cm.Header, body: cm.Body, duration: time.Duration(cm.Duration)}
	if cm.BodyRef != "" {
		b, err := w.loadBody(ctx, cm.BodyRef)
		if err != nil && err != errBodyGone {
			_ = m.NakWithDelay(w.cfg.CallbackBackoff.Min)
			return
		}
		res.body = b
	}
	tries := w.cbHosts.attempts(seq, delivered)
	code, err := w.postCallback(ctx, req, res, CallbackTimeout)
	if ctx.Err() != nil && (err != nil || retryableStatus(code)) {
		_ = m.Nak() // cut short by the shutdown: the next worker delivers it
		return
	}
	if w.callbackAgain(req, code, err, tries, false) {
		_ = m.NakWithDelay(w.cfg.CallbackBackoff.Delay(tries))
		return
	}
	w.cbHosts.done(seq)
	_ = m.Ack()
	if cm.BodyRef != "" {
		w.deleteBody(cm.BodyRef)
	}
}
