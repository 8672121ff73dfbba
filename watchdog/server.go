package watchdog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Health states; /_/health and /_/ready answer 200 only in stateReady.
const (
	stateStarting int32 = iota
	stateReady
	stateDraining
)

// watchdog holds the running state shared by the handlers.
type watchdog struct {
	cfg      Config
	log      *slog.Logger // the watchdog's own records
	fnlog    *log.Logger  // the function's output lines, prefixed as OpenFaaS's watchdogs do
	state    atomic.Int32
	inflight atomic.Int64
	metrics  *metrics
	fn       http.Handler // the mode's handler
	rawMu    sync.Mutex   // serialises unprefixed log lines
}

// Run serves the function until ctx is cancelled (the SIGTERM path: stop
// being ready, drain for HealthcheckInterval, finish in-flight requests) or
// the function fails for good (http mode: its process exited). It returns nil
// after a clean drain.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	out := cfg.Log
	if out == nil {
		out = os.Stderr
	}
	flags := log.LstdFlags
	if cfg.ReadyFD >= 0 {
		// Under ferry's supervisor, which timestamps every line it
		// captures: a second date would only make each line longer.
		flags = 0
	}
	fnlog := log.New(out, "", flags)
	logger := newLogger(out, cfg)

	// Isolation (secrets mount, privilege drop) happens before anything of
	// the function runs.
	if err := isolate(&cfg); err != nil {
		return err
	}
	w := &watchdog{cfg: cfg, log: logger, fnlog: fnlog}

	ln, mln, uln, err := listen(cfg)
	if err != nil {
		return err
	}
	defer ln.Close()
	if mln != nil {
		defer mln.Close()
	}
	if uln != nil {
		defer uln.Close()
	}

	var fnExited <-chan struct{} // http mode: closed when the function exits
	var fn *fnProcess
	switch {
	case cfg.Handler != nil:
		w.fn = cfg.Handler
	case cfg.Mode == ModeHTTP:
		p, err := newHTTPProxy(w)
		if err != nil {
			return err
		}
		w.fn = p
	case cfg.Mode == ModeStreaming, cfg.Mode == ModeSerializing:
		f, err := newForker(w)
		if err != nil {
			return err
		}
		defer f.devNull.Close()
		w.fn = f
	case cfg.Mode == ModeStatic:
		w.fn = newStatic(cfg)
	}

	if mln != nil {
		w.metrics = newMetrics()
		msrv := &http.Server{Handler: w.metrics.handler(), ReadHeaderTimeout: 10 * time.Second}
		go msrv.Serve(mln)
		defer msrv.Close()
	}

	srv := &http.Server{
		Handler:     w,
		ReadTimeout: cfg.ReadTimeout,
		// A little grace over write_timeout so a 408/504 answered at the
		// exec_timeout (often equal to write_timeout) still reaches the caller.
		WriteTimeout:      addGrace(cfg.WriteTimeout),
		ReadHeaderTimeout: cfg.ReadTimeout,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	if uln != nil {
		go func() { serveErr <- srv.Serve(uln) }()
	}

	if p, ok := w.fn.(*httpProxy); ok {
		if fn, err = p.start(ctx); err != nil {
			srv.Close()
			return err
		}
		fnExited = fn.exited
		defer p.stop(fn)
	}

	if ctx.Err() == nil {
		w.becomeReady()
		attrs := []any{"mode", cfg.Mode, "fprocess", cfg.FProcess, "listening", ln.Addr().String()}
		if uln != nil {
			attrs = append(attrs, "unix", uln.Addr().String())
		}
		w.log.Info("watchdog ready", attrs...)
	}

	select {
	case <-ctx.Done():
	case <-fnExited:
		srv.Close()
		w.removeLock()
		return fmt.Errorf("function process exited: %v (the watchdog stops so its supervisor can restart it)", fn.err)
	case err := <-serveErr:
		w.removeLock()
		return fmt.Errorf("serve: %w", err)
	}
	return w.drain(srv)
}

// listen opens the function and metrics listeners (unless given in cfg).
func listen(cfg Config) (ln, mln, uln net.Listener, err error) {
	closeAll := func() {
		for _, l := range []net.Listener{ln, mln} {
			if l != nil {
				l.Close()
			}
		}
	}
	ln, mln = cfg.Listener, cfg.MetricsListener
	switch {
	case ln != nil:
	case cfg.ListenFD != 0:
		if ln, err = inherited(cfg.ListenFD, "FERRY_LISTEN_FD"); err != nil {
			return nil, nil, nil, err
		}
	default:
		addr := net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.Port))
		if ln, err = net.Listen("tcp", addr); err != nil {
			return nil, nil, nil, fmt.Errorf("listen on %s: %w (set port or bind_address to a free address)", addr, err)
		}
	}
	switch {
	case mln != nil:
	case cfg.MetricsFD != 0:
		if mln, err = inherited(cfg.MetricsFD, "FERRY_METRICS_FD"); err != nil {
			closeAll()
			return nil, nil, nil, err
		}
	case cfg.MetricsPort >= 0:
		addr := net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.MetricsPort))
		if mln, err = net.Listen("tcp", addr); err != nil {
			closeAll()
			return nil, nil, nil, fmt.Errorf("metrics listen on %s: %w (set metrics_port to a free port, or 0 to disable)", addr, err)
		}
	}
	if cfg.UnixFD >= 3 {
		if uln, err = inherited(cfg.UnixFD, "FERRY_UNIX_FD"); err != nil {
			closeAll()
			return nil, nil, nil, err
		}
	} else if cfg.UnixSocket != "" {
		if uln, err = net.Listen("unix", cfg.UnixSocket); err != nil {
			closeAll()
			return nil, nil, nil, fmt.Errorf("listen on Unix socket %s: %w (unset FERRY_UNIX_SOCKET or give a free name)", cfg.UnixSocket, err)
		}
	}
	return ln, mln, uln, nil
}

// inherited serves the listening socket passed down as fd.
func inherited(fd int, name string) (net.Listener, error) {
	f := os.NewFile(uintptr(fd), name)
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s=%d is not a listening socket: %w", name, fd, err)
	}
	return l, nil
}

// becomeReady marks the watchdog healthy, writes the lock file and signals
// FERRY_READY_FD.
func (w *watchdog) becomeReady() {
	w.state.Store(stateReady)
	if !w.cfg.SuppressLock {
		if err := os.WriteFile(w.lockPath(), nil, 0o644); err != nil {
			w.log.Warn("cannot write the lock file", "path", w.lockPath(), "err", err)
		}
	}
	if w.cfg.ReadyFD >= 0 {
		f := os.NewFile(uintptr(w.cfg.ReadyFD), "ferry-ready-fd")
		if f != nil {
			// "ready unix=NAME" tells a supervisor that asked for a Unix
			// socket that this watchdog serves it (an older one would not).
			line := "ready\n"
			if w.cfg.UnixSocket != "" {
				line = "ready unix=" + w.cfg.UnixSocket + "\n"
			}
			if _, err := f.Write([]byte(line)); err != nil {
				w.log.Warn("cannot signal readiness", "FERRY_READY_FD", w.cfg.ReadyFD, "err", err)
			}
			f.Close()
		}
	}
	if w.cfg.OnReady != nil {
		w.cfg.OnReady()
	}
}

// drain stops being ready, waits HealthcheckInterval so balancers notice,
// then lets in-flight requests finish.
func (w *watchdog) drain(srv *http.Server) error {
	wasReady := w.state.Swap(stateDraining) == stateReady
	w.removeLock()
	if d := w.cfg.HealthcheckInterval; d > 0 && wasReady {
		w.log.Info("draining: unhealthy now, still serving", "healthcheck_interval", d)
		time.Sleep(d) // the drain period itself, not synchronisation
	}
	grace := addGrace(max(w.cfg.WriteTimeout, w.cfg.ExecTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		srv.Close()
		return fmt.Errorf("drain: in-flight requests still running after %s", grace)
	}
	w.log.Info("drained: exiting")
	return nil
}

func (w *watchdog) lockPath() string { return filepath.Join(w.cfg.LockDir, ".lock") }

func (w *watchdog) removeLock() {
	if !w.cfg.SuppressLock {
		os.Remove(w.lockPath())
	}
}

// zeroDuration is the X-Duration-Seconds of the watchdog's own endpoints.
var zeroDuration = []string{"0.000000"}

func addGrace(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + 500*time.Millisecond
}

// ServeHTTP routes the watchdog's own paths and hands the rest to the mode.
func (w *watchdog) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_/health":
		w.health(rw, false)
		return
	case "/_/ready":
		w.health(rw, true)
		return
	}
	start := time.Now()
	n := w.inflight.Add(1)
	defer w.inflight.Add(-1)
	if m := w.metrics; m != nil {
		m.inflight.Inc()
		defer m.inflight.Dec()
	}
	rec := getRecorder(rw, start)
	if max := w.cfg.MaxInflight; max > 0 && n > int64(max) {
		http.Error(rec, "too many concurrent requests (max_inflight="+strconv.Itoa(max)+"), retry later", http.StatusTooManyRequests)
	} else {
		w.fn.ServeHTTP(rec, r)
	}
	if m := w.metrics; m != nil {
		m.observe(rec.status(), r.Method, time.Since(start))
	}
	putRecorder(rec)
}

func (w *watchdog) health(rw http.ResponseWriter, ready bool) {
	rw.Header()["X-Duration-Seconds"] = zeroDuration
	switch {
	case w.state.Load() != stateReady:
		rw.WriteHeader(http.StatusServiceUnavailable)
	case ready && w.cfg.MaxInflight > 0 && w.inflight.Load() >= int64(w.cfg.MaxInflight):
		rw.WriteHeader(http.StatusTooManyRequests)
	default:
		rw.WriteHeader(http.StatusOK)
	}
}
