package queue

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ferryfaas/ferry/internal/wire"
)

// callback POSTs the function's answer to the caller's X-Callback-Url,
// retrying (bounded by CallbackAttempts) on network errors and retryable
// statuses. The message stays unacked (and kept alive) meanwhile.
func (w *Worker) callback(ctx context.Context, req *Request, res result) {
	for i := 1; ; i++ {
		code, err := w.postCallback(ctx, req, res, CallbackTimeout)
		if !w.callbackAgain(req, code, err, i, ctx.Err() != nil) {
			return
		}
		t := time.NewTimer(w.cfg.CallbackBackoff.Delay(i))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// callbackAgain judges delivery try number tries of req's callback: false
// when it is over (taken, refused for good, or out of attempts or time:
// logged and counted), true when it is to be tried again.
func (w *Worker) callbackAgain(req *Request, code int, err error, tries int, noTime bool) bool {
	switch {
	case err == nil && !retryableStatus(code):
		if code >= 400 {
			w.log.Warn("queue worker: callback refused", "call_id", req.CallID, "url", RedactURL(req.CallbackURL), "status", code)
		}
		w.cfg.Metrics.Callbacks.WithLabelValues("ok").Inc()
		return false
	case tries >= w.cfg.CallbackAttempts || noTime:
		w.log.Warn("queue worker: callback failed; giving up", "call_id", req.CallID, "url", RedactURL(req.CallbackURL),
			"attempts", tries, "status", code, "err", err)
		w.cfg.Metrics.Callbacks.WithLabelValues("failed").Inc()
		return false
	}
	return true
}

// CallbackTimeout bounds one callback POST.
const CallbackTimeout = 30 * time.Second

// postCallback POSTs the result once, within timeout.
func (w *Worker) postCallback(ctx context.Context, req *Request, res result, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.CallbackURL, bytes.NewReader(res.body))
	if err != nil {
		return 0, err
	}
	// Credentials are refused at enqueue; a call queued before that rule
	// must not send them either.
	hr.URL.User = nil
	h := hr.Header
	for k, v := range res.header {
		if wire.ForwardRequestField(k) {
			h[k] = v
		}
	}
	h[wire.CallID] = []string{req.CallID}
	h["X-Function-Name"] = []string{req.FunctionName()}
	h["X-Function-Status"] = []string{strconv.Itoa(res.status)}
	h["X-Duration-Seconds"] = []string{strconv.FormatFloat(res.duration.Seconds(), 'f', 6, 64)}
	h["X-Retry"] = []string{strconv.Itoa(req.Attempt)}
	h["X-Retry-Max"] = []string{strconv.Itoa(w.cfg.MaxAttempts - 1)}
	hr.ContentLength = int64(len(res.body))
	var resp *http.Response
	if w.cbTransport != nil {
		// The client this worker built: its timeout and refusal to
		// follow redirects are those of ctx and of a bare transport.
		resp, err = w.cbTransport.RoundTrip(hr)
	} else {
		resp, err = w.cfg.CallbackClient.Do(hr)
	}
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
