package queue

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ferryfaas/ferry/internal/wire"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATS headers on retry and dead-letter messages.
const (
	hdrNotBefore = "Ferry-Not-Before" // Unix nanoseconds
	hdrQueue     = "Ferry-Queue"      // queue token to return to
	hdrReason    = "Ferry-Reason"
)

var errBodyGone = errors.New("stored body is gone")

// result of one invocation.
type result struct {
	status   int
	header   http.Header
	body     []byte
	duration time.Duration
	err      error // network error: status is 503
}

func (r result) retryable() bool { return r.err != nil || retryableStatus(r.status) }

// handleWork runs one queued call to completion, retry or dead letter.
func (w *Worker) handleWork(m jetstream.Msg, progress time.Duration) {
	stop := w.keepAlive(m, progress)
	defer stop()
	req, err := decode(m.Data())
	if err != nil {
		w.log.Error("queue worker: dropping a message that is not a Ferry call", "subject", m.Subject(), "err", err)
		_ = m.Term()
		return
	}
	ctx := w.runCtx
	if req.BodyRef != "" {
		body, err := w.loadBody(ctx, req.BodyRef)
		if errors.Is(err, errBodyGone) {
			w.log.Info("queue worker: skipping a redelivered call that already finished", "call_id", req.CallID)
			_ = m.Ack()
			return
		}
		if err != nil {
			w.log.Warn("queue worker: cannot read a stored body; will retry", "call_id", req.CallID, "err", err)
			_ = m.NakWithDelay(w.cfg.Backoff.Min)
			return
		}
		req.Body = body
	}
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		_ = m.Nak()
		return
	}
	fn := req.FunctionName()
	g := w.cfg.Metrics.InFlight.WithLabelValues(fn)
	g.Inc()
	res := w.invoke(ctx, req)
	// Counted when the call is over (callback included): a release that
	// ran while it still held its body would leave that garbage behind.
	defer noteBody(len(req.Body) + len(res.body))
	g.Dec()
	<-w.sem
	if ctx.Err() != nil || (res.err != nil && w.draining.Load()) {
		// Shutting down (the gateway may be gone already): hand the call
		// back for another worker or the next start, without using up an
		// attempt.
		_ = m.Nak()
		return
	}
	attempts := req.Attempt + 1
	if res.retryable() && attempts < w.cfg.MaxAttempts {
		if err := w.scheduleRetry(ctx, req, res, m.Data()); err != nil {
			w.log.Warn("queue worker: cannot schedule a retry; the call will be redelivered", "call_id", req.CallID, "err", err)
			_ = m.NakWithDelay(w.cfg.Backoff.Min)
			return
		}
		w.cfg.Metrics.Retries.WithLabelValues(fn).Inc()
		_ = m.Ack()
		return
	}
	dead := res.retryable()
	if dead {
		if err := w.deadLetter(ctx, req, res); err != nil {
			w.log.Warn("queue worker: cannot dead-letter a call; it will be redelivered", "call_id", req.CallID, "err", err)
			_ = m.NakWithDelay(w.cfg.Backoff.Min)
			return
		}
		w.cfg.Metrics.DeadLetters.WithLabelValues(fn).Inc()
	}
	w.cfg.Metrics.Completed.WithLabelValues(fn, strconv.Itoa(res.status)).Inc()
	if req.CallbackURL != "" && !w.deliverCallback(ctx, req, res) {
		_ = m.Nak()
		return
	}
	// Ack after the callback is delivered or queued: a crash in between repeats the
	// callback with the same call id rather than losing it.
	_ = m.Ack()
	if req.BodyRef != "" && !dead {
		w.deleteBody(req.BodyRef)
	}
}

// invoke calls the function through the gateway's synchronous route.
func (w *Worker) invoke(ctx context.Context, req *Request) result {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.InvokeTimeout)
	defer cancel()
	if lg, ok := w.cfg.Gateway.(LocalGateway); ok {
		return w.invokeDirect(ctx, lg, req)
	}
	u := w.cfg.GatewayURL + "/function/" + req.Function + "." + req.Namespace + req.Path
	if req.QueryString != "" {
		u += "?" + req.QueryString
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, u, bytes.NewReader(req.Body))
	if err != nil {
		return result{status: http.StatusBadRequest, err: nil, body: []byte("bad queued request: " + err.Error())}
	}
	w.callHeaders(hr.Header, req)
	hr.ContentLength = int64(len(req.Body))
	if w.cfg.Gateway != nil {
		return w.invokeLocal(ctx, hr)
	}
	start := time.Now()
	resp, err := w.cfg.Client.Do(hr)
	if err != nil {
		return result{status: http.StatusServiceUnavailable, err: err, duration: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, w.cfg.MaxResponse))
	d := time.Since(start)
	if err != nil {
		// The function answered, then its response broke off (a streaming
		// function that exited non-zero after writing): it ran and failed,
		// which is a 500 with what it wrote, not an unreachable replica to
		// retry (503) that would run it again.
		body = append(body, "\n[the function's response broke off: "+err.Error()+"]"...)
		return result{status: http.StatusInternalServerError, header: resp.Header, body: body, duration: d}
	}
	// The whole call, body included, as OpenFaaS's queue worker times it:
	// a streaming watchdog's X-Duration-Seconds is its time to first byte.
	return result{status: resp.StatusCode, header: resp.Header, body: body, duration: d}
}

// callHeaders are the headers a queued call is invoked with: the
// caller's, as the sync path forwards them, and the contract's headers
// as it sets them (wire.SetContract): the caller's X-Forwarded-Host kept,
// its Host otherwise; no peer, the stored X-Forwarded-For already ends
// with the caller's address. (The gateway sets its own X-Start-Time.)
func (w *Worker) callHeaders(h http.Header, req *Request) {
	for k, v := range req.Header {
		if wire.ForwardRequestField(k) {
			h[k] = v
		}
	}
	h[wire.CallID] = []string{req.CallID}
	h["X-Queue-Worker"] = []string{w.id}
	wire.SetContract(h, func() string { return req.CallID }, time.Unix(0, req.StartTime), "", req.Host)
}

// scheduleRetry parks the call on the retry subject with its due time. It
// takes no concurrency slot of its queue while it waits.
func (w *Worker) scheduleRetry(ctx context.Context, req *Request, res result, orig []byte) error {
	body := req.Body
	if req.BodyRef != "" {
		req.Body = nil
	}
	req.Attempt++
	req.LastStatus, req.LastError = res.status, errText(res)
	data, err := req.encode()
	req.Body = body
	if err != nil {
		return err
	}
	due := time.Now().Add(w.cfg.Backoff.Delay(req.Attempt))
	h := nats.Header{}
	h.Set(hdrNotBefore, strconv.FormatInt(due.UnixNano(), 10))
	h.Set(hdrQueue, req.QueueName)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return publishData(pctx, w.cfg.JS, subjRetryPrefix+req.QueueName, data, h)
}

// handleRetry returns a call to its queue once its back-off is over.
func (w *Worker) handleRetry(m jetstream.Msg, _ time.Duration) {
	h := m.Headers()
	due, _ := strconv.ParseInt(h.Get(hdrNotBefore), 10, 64)
	if wait := time.Until(time.Unix(0, due)); wait > 0 {
		_ = m.NakWithDelay(wait)
		return
	}
	tok := h.Get(hdrQueue)
	if tok == "" {
		w.log.Error("queue worker: dropping a retry without a queue", "subject", m.Subject())
		_ = m.Term()
		return
	}
	ctx, cancel := context.WithTimeout(w.runCtx, 30*time.Second)
	defer cancel()
	if err := publishData(ctx, w.cfg.JS, subjWorkPrefix+tok, m.Data(), nil); err != nil {
		_ = m.NakWithDelay(time.Second)
		return
	}
	_ = m.Ack()
}

// deadLetter stores a call that used up its attempts.
func (w *Worker) deadLetter(ctx context.Context, req *Request, res result) error {
	d := *req
	if d.BodyRef != "" {
		d.Body = nil
	}
	d.Attempt++
	d.LastStatus, d.LastError = res.status, errText(res)
	data, err := d.encode()
	if err != nil {
		return err
	}
	h := nats.Header{}
	h.Set(hdrReason, "attempts exhausted")
	h.Set(hdrQueue, req.QueueName)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return publishData(pctx, w.cfg.JS, subjDeadPrefix+req.Namespace+"."+req.Function, data, h)
}

func errText(res result) string {
	if res.err != nil {
		return res.err.Error()
	}
	b := res.body
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

func (w *Worker) loadBody(ctx context.Context, ref string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	os, err := w.cfg.JS.bodies(ctx)
	if err != nil {
		return nil, err
	}
	b, err := os.GetBytes(ctx, ref)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		// Bodies are deleted only after the call was acked, so this is a
		// redelivery of a call that already finished.
		return nil, errBodyGone
	}
	return b, err
}

func (w *Worker) deleteBody(ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if os, err := w.cfg.JS.bodies(ctx); err == nil {
		_ = os.Delete(ctx, ref)
	}
}
