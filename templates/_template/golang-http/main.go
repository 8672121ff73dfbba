// Command handler is Ferry's golang-http shim: it serves function.Handle on
// 127.0.0.1:$upstream_port (default 8082), and the watchdog (mode=http)
// proxies to it. The port comes from the environment so that replicas on
// one host don't collide.
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"handler/function"
)

func main() {
	port := os.Getenv("upstream_port")
	if port == "" {
		port = "8082"
	}
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
