package queue

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// invokeLocal hands the call to the gateway's handler in this process (a
// worker inside `ferry serve`): the same route, hooks and limits as over
// HTTP, without a loopback connection and its request and response
// encoded and parsed once more on each side.
func (w *Worker) invokeLocal(ctx context.Context, hr *http.Request) (res result) {
	hr.RemoteAddr = "127.0.0.1:0" // as the worker's loopback connection would show
	hr.RequestURI = hr.URL.RequestURI()
	rw := &bufferWriter{header: http.Header{}, max: w.cfg.MaxResponse}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			// The gateway aborts a response cut short upstream (a streaming
			// function that exited after writing): it ran and failed, as
			// invoke judges a broken-off body.
			body := append(rw.body, fmt.Sprintf("\n[the function's response broke off: %v]", p)...)
			res = result{status: http.StatusInternalServerError, header: rw.header, body: body, duration: time.Since(start)}
		}
	}()
	w.cfg.Gateway.ServeHTTP(rw, hr.WithContext(ctx))
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	return result{status: rw.status, header: rw.header, body: rw.body, duration: time.Since(start)}
}

// bufferWriter keeps a response in memory, up to max bytes of body (the
// rest is dropped, as invoke reads at most MaxResponse).
type bufferWriter struct {
	header http.Header
	status int
	body   []byte
	max    int64
}

func (b *bufferWriter) Header() http.Header { return b.header }

func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 && code >= 200 {
		b.status = code
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if room := b.max - int64(len(b.body)); room > 0 {
		b.body = append(b.body, p[:min(int64(len(p)), room)]...)
	}
	return len(p), nil
}

// Flush is a no-op: the whole answer goes to the callback at once.
func (b *bufferWriter) Flush() {}
