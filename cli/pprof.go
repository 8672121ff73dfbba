package cli

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/ferryfaas/ferry/internal/serveconfig"
)

// listenPprof opens the listener of Go's profiler (--pprof-listen), for
// finding where a busy gateway spends its CPU; nil when addr is empty
// (off). It has no authentication, so it listens on loopback only, and on
// its own listener so it is never reachable through the gateway.
func listenPprof(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-listen %q: use host:port", addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--pprof-listen %s: the profiler has no authentication: use a loopback address (127.0.0.1:6060)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-listen %s: %w", addr, err)
	}
	// "localhost" is whatever /etc/hosts or DNS say: judged where it
	// landed.
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("--pprof-listen %s resolved to %s, not a loopback address: the profiler has no authentication: use 127.0.0.1:6060", addr, ln.Addr())
	}
	return ln, nil
}

// servePprof serves the profiler on ln until ln is closed.
func servePprof(ln net.Listener, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Warn("profiler enabled (--pprof-listen)", "addr", ln.Addr().String())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: serveconfig.ReadHeaderTimeout}
	go func() { log.Warn("profiler stopped", "err", srv.Serve(ln)) }()
}
