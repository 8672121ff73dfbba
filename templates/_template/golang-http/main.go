// Command handler is Ferry's golang-http shim: it serves function.Handle on
// 127.0.0.1 and the watchdog (mode=http) proxies to it. Its port is per
// replica (several replicas share a host under Ferry's process runtime):
// upstream_port, else the port of upstream_url, else http_port or PORT,
// else 8082.
package main

import (
	"context"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"handler/function"
)

func main() {
	port := listenPort("8082")
	srv := &http.Server{
		Addr:              "127.0.0.1:" + port,
		Handler:           http.HandlerFunc(function.Handle),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatalf("handler: %v", err)
	}
}

func listenPort(fallback string) string {
	if p := os.Getenv("upstream_port"); p != "" {
		return p
	}
	if u, err := url.Parse(os.Getenv("upstream_url")); err == nil && u.Port() != "" {
		return u.Port()
	}
	for _, k := range []string{"http_port", "PORT"} {
		if p := os.Getenv(k); p != "" {
			return p
		}
	}
	return fallback
}
