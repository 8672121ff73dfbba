package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
	"golang.org/x/net/websocket"
)

// TestWebSocket opens a WebSocket to an http-mode function through the
// gateway and its replica's watchdog (two upgrade hops), exchanges
// messages both ways, and checks the tunnel outlives the call timeout.
func TestWebSocket(t *testing.T) {
	f := harness.T(t, harness.Options{})
	deploy(t, f, httpFn(t, "wsfn", map[string]any{"envVars": map[string]string{"mode": "http", "exec_timeout": "2s"}}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.WaitReady(ctx, "wsfn", ns, 1); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(f.URL, "http://")
	cfg, err := websocket.NewConfig("ws://"+host+"/function/wsfn/ws", f.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Header.Set("X-Call-Id", "ws-call-1")
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("WebSocket handshake through the gateway: %v", err)
	}
	defer ws.Close()
	ws.SetDeadline(time.Now().Add(20 * time.Second))
	for i, msg := range []string{"hello", "again"} {
		if i == 1 {
			time.Sleep(3 * time.Second) // past exec_timeout: the tunnel stays open
		}
		if err := websocket.Message.Send(ws, msg); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := websocket.Message.Receive(ws, &got); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := "echo: " + msg + " call-id=ws-call-1"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}
