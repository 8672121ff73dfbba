package watchdog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// httpProxy is mode http: fprocess is started once and every request is
// proxied to upstream_url over a pool of kept-alive connections.
type httpProxy struct {
	w         *watchdog
	upstream  *url.URL
	transport *http.Transport
	cmd       *exec.Cmd
}

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

func newHTTPProxy(w *watchdog) (*httpProxy, error) {
	u, err := url.Parse(w.cfg.UpstreamURL)
	if err != nil {
		return nil, fmt.Errorf("upstream_url: %w", err)
	}
	argv, err := commandArgv(w.cfg.FProcess)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 nil, // never an environment proxy for a loopback upstream
		DialContext:           dialer.DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   4096,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ExpectContinueTimeout: 0,
		WriteBufferSize:       32 * 1024,
		ReadBufferSize:        32 * 1024,
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = w.cfg.FunctionEnv
	return &httpProxy{w: w, upstream: u, transport: t, cmd: cmd}, nil
}

// start runs the function process, waits until upstream accepts connections
// and returns a channel that receives the process's exit, plus a stop func.
func (p *httpProxy) start(ctx context.Context) (<-chan error, func(), error) {
	cmd := p.cmd
	setProcessGroup(cmd)
	stdout, stderr := p.w.functionLog("stdout"), p.w.functionLog("stderr")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start fprocess %q: %w", p.w.cfg.FProcess, err)
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		stdout.Close()
		stderr.Close()
		if err == nil {
			err = errors.New("exit status 0")
		}
		done <- err
	}()
	stop := func() {
		p.transport.CloseIdleConnections()
		if cmd.ProcessState == nil {
			terminateGroup(cmd, 5*time.Second, done)
		}
	}
	if err := p.awaitUpstream(ctx, done); err != nil {
		stop()
		return nil, nil, err
	}
	return done, stop, nil
}

// awaitUpstream polls a TCP connect to the upstream: a server that starts
// listening gives no other event to wait on.
func (p *httpProxy) awaitUpstream(ctx context.Context, done chan error) error {
	host := p.upstream.Host
	if p.upstream.Port() == "" {
		port := "80"
		if p.upstream.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(p.upstream.Hostname(), port)
	}
	delay := 5 * time.Millisecond
	for {
		c, err := net.DialTimeout("tcp", host, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil // Run sees ctx and drains
		case err := <-done:
			t.Stop()
			done <- err // keep it for Run
			return fmt.Errorf("function process exited before %s accepted connections: %v", p.upstream.Host, err)
		case <-t.C:
		}
		delay = min(delay*2, 100*time.Millisecond)
	}
}

// hop-by-hop headers are not forwarded (RFC 9110 section 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (p *httpProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if d := p.w.cfg.ExecTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	out := r.WithContext(ctx) // shallow copy; the inbound header map is ours to edit
	u := *r.URL
	u.Scheme, u.Host = p.upstream.Scheme, p.upstream.Host
	if p.upstream.Path != "" && p.upstream.Path != "/" {
		u.Path = strings.TrimSuffix(p.upstream.Path, "/") + r.URL.Path
		u.RawPath = ""
	}
	out.URL = &u
	out.RequestURI = ""
	out.Close = false
	for _, h := range hopHeaders {
		if _, ok := out.Header[h]; ok {
			delete(out.Header, h)
		}
	}
	if r.ContentLength == 0 {
		out.Body = nil
	} else if p.w.cfg.BufferBody && r.ContentLength < 0 {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "cannot read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		out.TransferEncoding = nil
	}

	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded) && r.Context().Err() == nil:
			http.Error(w, "function timed out after exec_timeout="+p.w.cfg.ExecTimeout.String(), http.StatusGatewayTimeout)
		case r.Context().Err() != nil:
			// the caller went away; nobody reads the answer
		default:
			http.Error(w, "function unreachable: "+err.Error(), http.StatusBadGateway)
		}
		return
	}
	defer resp.Body.Close()

	h := w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	for _, k := range hopHeaders {
		if _, ok := h[k]; ok {
			delete(h, k)
		}
	}
	w.WriteHeader(resp.StatusCode)

	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	if resp.ContentLength >= 0 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		io.CopyBuffer(writerOnly{w}, resp.Body, *bp)
		return
	}
	// Unknown length or SSE: flush every chunk as it arrives.
	flusher, _ := w.(http.Flusher)
	buf := *bp
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// writerOnly hides optional interfaces so io.CopyBuffer uses our buffer.
type writerOnly struct{ io.Writer }
