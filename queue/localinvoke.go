package queue

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// invokeLocal hands the call to the gateway's handler in this process (a
// worker inside `ferry serve`): the same route, hooks and limits as over
// HTTP, without a loopback connection and its request and response
// encoded and parsed once more on each side.
func (w *Worker) invokeLocal(ctx context.Context, hr *http.Request) result {
	hr.RemoteAddr = "" // see invokeDirect
	hr.RequestURI = hr.URL.RequestURI()
	hr = hr.WithContext(ctx)
	return w.serveLocal(hr, func(rw http.ResponseWriter) { w.cfg.Gateway.ServeHTTP(rw, hr) })
}

// serveLocal runs serve, a handler of this process, into a buffer.
func (w *Worker) serveLocal(hr *http.Request, serve func(http.ResponseWriter)) (res result) {
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
	serve(rw)
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	return result{status: rw.status, header: rw.header, body: rw.body, duration: time.Since(start)}
}

// LocalGateway is the gateway of this process seen from the worker inside
// `ferry serve` (gateway.Gateway): a call is handed over in parts, with
// its body, instead of as a request to route.
type LocalGateway interface {
	InvokeLocal(w http.ResponseWriter, r *http.Request, name, namespace, path string, body []byte)
}

// invokeDirect is invokeLocal without a URL to build and parse or a
// route to find: the gateway's invoke path, as /function/ takes it.
func (w *Worker) invokeDirect(ctx context.Context, lg LocalGateway, req *Request) (res result) {
	hr := (&http.Request{
		Method: req.Method, URL: &url.URL{Path: "/function/" + req.FunctionName() + req.Path, RawQuery: req.QueryString},
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: make(http.Header, len(req.Header)+4),
		// No peer: the stored X-Forwarded-For already ends with the
		// caller's address, taken at enqueue. This process's own address
		// after it would be what a function trusting the last entry saw.
		Host: w.gwHost, RemoteAddr: "",
	}).WithContext(ctx)
	w.callHeaders(hr.Header, req)
	return w.serveLocal(hr, func(rw http.ResponseWriter) {
		lg.InvokeLocal(rw, hr, req.Function, req.Namespace, req.Path, req.Body)
	})
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
