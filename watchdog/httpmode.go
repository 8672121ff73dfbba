package watchdog

import (
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

	"github.com/ferryfaas/ferry/internal/upgradetunnel"
	"github.com/ferryfaas/ferry/internal/wire"
)

// httpProxy is mode http: fprocess is started once and every request is
// proxied to upstream_url over a pool of kept-alive connections.
type httpProxy struct {
	w        *watchdog
	upstream *url.URL
	pool     *upstreamPool
	prefix   string // path of upstream_url, prepended to request paths
	cmd      *exec.Cmd
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
	if u.Scheme != "http" {
		return nil, fmt.Errorf("upstream_url %q: only http:// upstreams are supported", w.cfg.UpstreamURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = w.cfg.FunctionEnv
	owner := &upstreamOwner{uid: w.cfg.UID, strict: w.cfg.ListenFD != 0 || w.cfg.UID >= 0, log: w.log}
	return &httpProxy{w: w, upstream: u, pool: &upstreamPool{addr: host, maxIdle: 4096, owner: owner},
		prefix: strings.TrimSuffix(u.Path, "/"), cmd: cmd}, nil
}

// fnProcess is the running function of mode http.
type fnProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // its exit, valid once exited is closed
}

// start runs the function process and waits until upstream accepts
// connections.
func (p *httpProxy) start(ctx context.Context) (*fnProcess, error) {
	cmd := p.cmd
	setProcessGroup(cmd)
	stdout, stderr := p.w.functionLog("stdout"), p.w.functionLog("stderr")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start fprocess %q: %w", p.w.cfg.FProcess, err)
	}
	fp := &fnProcess{cmd: cmd, exited: make(chan struct{})}
	p.pool.owner.pid.Store(int32(cmd.Process.Pid))
	go func() {
		err := cmd.Wait()
		stdout.Close()
		stderr.Close()
		if err == nil {
			err = errors.New("exit status 0")
		}
		fp.err = err
		close(fp.exited)
	}()
	if err := p.awaitUpstream(ctx, fp); err != nil {
		p.stop(fp)
		return nil, err
	}
	return fp, nil
}

// stop ends the function: SIGTERM to its process group, SIGKILL after 5s.
func (p *httpProxy) stop(fp *fnProcess) {
	p.pool.closeIdle()
	terminateGroup(fp.cmd, 5*time.Second, fp.exited)
}

// awaitUpstream polls a TCP connect to the upstream: a server that starts
// listening gives no other event to wait on. The time a replica takes to
// become ready is cold-start latency, and a refused loopback connect costs
// microseconds: every 250 us for the first 20 ms (a Go server listens
// after about 4 ms, Python after about 40), then growing to 10 ms. A
// listener that is not the function's never makes the replica ready: the
// function, unable to bind its port, normally exits, and the supervisor
// starts the replica again on another port.
func (p *httpProxy) awaitUpstream(ctx context.Context, fp *fnProcess) error {
	start := time.Now()
	delay := 250 * time.Microsecond
	warned := false
	for {
		c, err := p.pool.dial(time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if errors.Is(err, errNotReplica) && !warned {
			warned = true
			p.w.log.Warn("SECURITY: the upstream's port is held by another process; not ready", "upstream", p.upstream.Host, "err", err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil // Run sees ctx and drains
		case <-fp.exited:
			t.Stop()
			return fmt.Errorf("function process exited before %s accepted connections: %v", p.upstream.Host, fp.err)
		case <-t.C:
		}
		if time.Since(start) > 20*time.Millisecond {
			delay = min(delay*3/2, 10*time.Millisecond)
		}
	}
}

// maxReplayBody is the largest body read up front: it lets a request on a
// stale kept-alive connection be retried, and is written in one piece.
const maxReplayBody = 64 * 1024

var bodyBufPool = sync.Pool{New: func() any { b := make([]byte, maxReplayBody); return &b }}

// abortPast is a deadline in the past: setting it aborts pending I/O.
var abortPast = time.Unix(1, 0)

func (p *httpProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var deadline time.Time
	if d := p.w.cfg.ExecTimeout; d > 0 {
		deadline = time.Now().Add(d)
	}
	uri := r.RequestURI
	if p.prefix != "" || uri == "" || uri[0] != '/' {
		uri = p.prefix + r.URL.RequestURI()
	}
	if upgradetunnel.Requested(r) {
		p.serveUpgrade(w, r, uri)
		return
	}

	cl := r.ContentLength
	var small []byte
	var stream io.Reader
	switch {
	case cl > 0 && cl <= maxReplayBody:
		bp := bodyBufPool.Get().(*[]byte)
		defer bodyBufPool.Put(bp)
		n, err := io.ReadFull(r.Body, (*bp)[:cl])
		if err != nil {
			http.Error(w, "cannot read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		small = (*bp)[:n]
	case cl != 0 && p.w.cfg.BufferBody:
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "cannot read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		small, cl = b, int64(len(b))
	case cl != 0:
		stream = r.Body
		// the body is still being sent while the answer is already written
		http.NewResponseController(w).EnableFullDuplex()
	}

	// While waiting for the answer, exec_timeout bounds the exchange (a
	// caller that hung up is noticed when the answer is written).
	resp, uc, err := p.pool.roundTrip(r, uri, small, stream, cl, deadline)
	if err != nil {
		switch {
		case r.Context().Err() != nil:
			// the caller went away; nobody reads the answer
		case isTimeout(err):
			http.Error(w, "function timed out after exec_timeout="+p.w.cfg.ExecTimeout.String(), http.StatusGatewayTimeout)
		default:
			// The call never reached a live function (it died, or refused
			// the connection, or another process holds its port): marked as
			// the platform's error, so that the gateway may give the call to
			// another replica.
			if errors.Is(err, errNotReplica) {
				p.w.log.Warn("SECURITY: call not forwarded", "upstream", p.upstream.Host, "err", err)
			}
			w.Header()["X-Openfaas-Internal"] = []string{"watchdog"}
			http.Error(w, "function unreachable: "+err.Error(), http.StatusBadGateway)
		}
		return
	}

	h := w.Header()
	for k, vv := range resp.Header {
		if !wire.IsHopHeader(k) {
			h[k] = vv
		}
	}
	if stream != nil && !uc.bodyWritten() {
		// Answered before the whole body was sent: the caller's connection
		// cannot carry another request after this one, so say so.
		h["Connection"] = connClose
	}
	w.WriteHeader(resp.StatusCode)

	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	var cerr error
	aborted := false
	if resp.ContentLength >= 0 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cerr = copyPlain(w, resp.Body, *bp)
	} else {
		// A stream may idle for long: a caller that hangs up ends it at once.
		stop := context.AfterFunc(r.Context(), func() { uc.c.SetReadDeadline(abortPast) })
		cerr = copyFlushing(w, resp.Body, *bp)
		aborted = !stop()
	}
	p.pool.release(uc, !aborted && cerr == nil && !resp.Close)
	if cerr != nil && !errors.Is(cerr, errClientWrite) && r.Context().Err() == nil {
		// The upstream failed mid-body: abort so the caller sees a truncated
		// response rather than a complete-looking one.
		panic(http.ErrAbortHandler)
	}
}

var connClose = []string{"close"}

// serveUpgrade tunnels a protocol upgrade (WebSocket) to the function on a
// connection of its own; exec_timeout bounds only the handshake.
func (p *httpProxy) serveUpgrade(w http.ResponseWriter, r *http.Request, uri string) {
	unreachable := func(err error) {
		w.Header()["X-Openfaas-Internal"] = []string{"watchdog"}
		http.Error(w, "function unreachable: "+err.Error(), http.StatusBadGateway)
	}
	c, err := p.pool.dial(5 * time.Second)
	if err != nil {
		if errors.Is(err, errNotReplica) {
			p.w.log.Warn("SECURITY: upgrade not forwarded", "upstream", p.upstream.Host, "err", err)
		}
		unreachable(err)
		return
	}
	h := make(http.Header, len(r.Header))
	for k, vv := range r.Header {
		if !wire.IsHopHeader(k) {
			h[k] = vv
		}
	}
	handshake := p.w.cfg.ExecTimeout
	if handshake <= 0 {
		handshake = 30 * time.Second
	}
	if _, err := upgradetunnel.Proxy(w, r, upgradetunnel.Request{Conn: c, Target: uri, Host: p.upstream.Host,
		Header: h, Upgrade: r.Header["Upgrade"], Handshake: handshake}); err != nil && r.Context().Err() == nil {
		if isTimeout(err) {
			http.Error(w, "function did not answer the upgrade within exec_timeout="+handshake.String(), http.StatusGatewayTimeout)
			return
		}
		unreachable(err)
	}
}

var errClientWrite = errors.New("write to caller failed")

// copyFlushing copies an unknown-length or SSE body, flushing each chunk as
// it arrives.
func copyFlushing(w http.ResponseWriter, body io.Reader, buf []byte) error {
	flusher, _ := w.(http.Flusher)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return errClientWrite
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// copyPlain is io.CopyBuffer without its interface probing (and the
// allocation that wrapping w to skip ReadFrom would cost).
func copyPlain(w io.Writer, body io.Reader, buf []byte) error {
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return errClientWrite
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
