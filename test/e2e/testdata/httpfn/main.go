// Command httpfn is an http-mode test function: the watchdog proxies to it.
// It listens on 127.0.0.1:$upstream_port and answers:
//
//	/echo...        method, path, query, X-Test header and body as JSON
//	/call?fn=NAME   calls NAME through $FERRY_GATEWAY_URL, forwarding X-Call-Id
//	/secret?name=S  the content of secret S (or 403 when it cannot be read)
//	/file?path=P    the content of any file (to prove isolation)
//	/sse            three server-sent events 800 ms apart
//	/ws             a WebSocket that answers each message with "echo: " + it
//	                and the X-Call-Id of its handshake
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/net/websocket"
)

func main() {
	port := os.Getenv("upstream_port")
	if port == "" {
		port = "5000"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/call", func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequest("POST", os.Getenv("FERRY_GATEWAY_URL")+"/function/"+r.URL.Query().Get("fn"), r.Body)
		req.Header.Set("X-Call-Id", r.Header.Get("X-Call-Id"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("X-Inner-Call-Id", resp.Header.Get("X-Call-Id"))
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
	mux.HandleFunc("/secret", func(w http.ResponseWriter, r *http.Request) {
		dir := os.Getenv("secret_mount_path")
		if dir == "" {
			dir = "/var/openfaas/secrets"
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(r.URL.Query().Get("name"))))
		if err != nil {
			http.Error(w, err.Error(), 403)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), 403)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(800 * time.Millisecond)
		}
	})
	mux.Handle("/ws", websocket.Handler(func(ws *websocket.Conn) {
		callID := ws.Request().Header.Get("X-Call-Id")
		for {
			var msg string
			if err := websocket.Message.Receive(ws, &msg); err != nil {
				return
			}
			if err := websocket.Message.Send(ws, "echo: "+msg+" call-id="+callID); err != nil {
				return
			}
		}
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(os.Stderr, "httpfn handled %s %s\n", r.Method, r.URL.Path)
		json.NewEncoder(w).Encode(map[string]string{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
			"x-test": r.Header.Get("X-Test"), "body": string(b), "pid": fmt.Sprint(os.Getpid()),
			"call-id": r.Header.Get("X-Call-Id"),
		})
	})
	http.ListenAndServe("127.0.0.1:"+port, mux)
}
