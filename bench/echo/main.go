// Command echo is the benchmark's bare Go HTTP server: it answers every
// request with its body. It listens on $ECHO_ADDR (default 127.0.0.1:5000).
package main

import (
	"io"
	"net/http"
	"os"
)

func main() {
	addr := os.Getenv("ECHO_ADDR")
	if addr == "" {
		addr = "127.0.0.1:5000"
	}
	http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}))
}
