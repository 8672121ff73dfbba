package cli

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
)

// startPprof serves Go's profiler on $FERRY_PPROF_ADDR (e.g. 127.0.0.1:6060)
// when set: for finding where a busy gateway spends its CPU. Off by default,
// and on its own listener so it is never reachable through the gateway.
func startPprof(log *slog.Logger) {
	addr := os.Getenv("FERRY_PPROF_ADDR")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Warn("profiler enabled (FERRY_PPROF_ADDR)", "addr", addr)
	go func() { log.Warn("profiler stopped", "err", http.ListenAndServe(addr, mux)) }()
}
