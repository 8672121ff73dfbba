// Command asyncfn is an http-mode test function for the async queue tests.
// It listens on $upstream_port (else the port of $upstream_url) and answers:
//
//	/echo               the body back, with X-Echo-Method/-Path/-Query
//	/flaky?key=K&fail=N 503 for the first N calls with key K, then 200
//	/fail?key=K         500 until /heal?key=K was called
//	/sleep?ms=M         sleeps M ms; /stats gives {"max": peak concurrency,
//	                    "done": n, "workers": distinct X-Queue-Worker values}
package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	port := os.Getenv("upstream_port")
	if port == "" {
		if u, err := url.Parse(os.Getenv("upstream_url")); err == nil && u.Port() != "" && u.Port() != "0" {
			port = u.Port()
		}
	}
	if port == "" {
		port = "5000"
	}
	var (
		mu        sync.Mutex
		counts    = map[string]int{}
		healed    = map[string]bool{}
		cur, peak int
		done      int
		workers   = map[string]bool{}
	)
	mux := http.NewServeMux()
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n, _ := strconv.Atoi(q.Get("fail"))
		mu.Lock()
		counts[q.Get("key")]++
		c := counts[q.Get("key")]
		mu.Unlock()
		if c <= n {
			http.Error(w, "flaky: failing call "+strconv.Itoa(c), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok after "+strconv.Itoa(c)+" calls")
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := healed[r.URL.Query().Get("key")]
		mu.Unlock()
		if !ok {
			http.Error(w, "broken on purpose", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "healed")
	})
	mux.HandleFunc("/heal", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		healed[r.URL.Query().Get("key")] = true
		mu.Unlock()
	})
	mux.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		mu.Lock()
		workers[r.Header.Get("X-Queue-Worker")] = true
		cur++
		peak = max(peak, cur)
		mu.Unlock()
		time.Sleep(time.Duration(ms) * time.Millisecond)
		mu.Lock()
		cur--
		done++
		mu.Unlock()
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		json.NewEncoder(w).Encode(map[string]int{"max": peak, "done": done, "current": cur, "workers": len(workers)})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-Method", r.Method)
		w.Header().Set("X-Echo-Path", r.URL.Path)
		w.Header().Set("X-Echo-Query", r.URL.RawQuery)
		w.Write(b)
	})
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: mux}
	if err := srv.ListenAndServe(); err != nil {
		os.Stderr.WriteString("asyncfn: " + err.Error() + "\n")
		os.Exit(1)
	}
}
