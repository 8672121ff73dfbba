package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/client"
	"github.com/ferryfaas/ferry/client/clienttest"
)

// TestLogsFollowRealGateway follows a function's logs through the real
// gateway: a line printed after the stream opened arrives, and cancelling
// the context ends Logs without an error.
func TestLogsFollowRealGateway(t *testing.T) {
	gw := clienttest.Start(t)
	c := client.New(gw.URL, clienttest.User, clienttest.Password)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Deploy(ctx, api.FunctionDeployment{Service: "echo", Image: "echo"}); err != nil {
		t.Fatal(err)
	}
	gw.Provider.Log(api.DefaultNamespace, "echo", "before")

	got := make(chan string, 10)
	done := make(chan error, 1)
	fctx, stop := context.WithCancel(ctx)
	go func() {
		done <- c.Logs(fctx, api.LogRequest{Name: "echo", Tail: -1, Follow: true}, func(m api.LogMessage) error {
			got <- m.Text
			return nil
		})
	}()
	if s := recv(t, got); s != "before" {
		t.Fatalf("first line %q", s)
	}
	res, err := c.Invoke(ctx, client.InvokeRequest{Name: "echo", Body: strings.NewReader("x")})
	if err != nil || res.Status != 200 {
		t.Fatalf("invoke: %+v %v", res, err)
	}
	if s := recv(t, got); !strings.HasPrefix(s, "POST /") {
		t.Fatalf("followed line %q", s)
	}
	stop()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("Logs after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Logs did not return after cancel")
	}
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no log line within 5s")
		return ""
	}
}
