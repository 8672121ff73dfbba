package natssub

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/queue"
	"github.com/ferryfaas/ferry/trigger"
	"github.com/ferryfaas/ferry/trigger/triggertest"
	"github.com/nats-io/nats.go"
)

func start(t *testing.T, env *triggertest.Env, nc *nats.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		trigger.Run(ctx, env.Index, env.Invoker, slog.Default(), New(Config{Connect: func() (*nats.Conn, error) { return nc, nil }, Metrics: env.Metrics}))
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// A message on a subscribed subject runs the function once even with two
// gateways subscribed; a request gets the answer; a removed function is
// unsubscribed.
func TestSubjectInvokesFunction(t *testing.T) {
	env := triggertest.Start(t)
	env.Deploy(t, "orders", map[string]string{"topic": "orders.created, orders.paid"})
	env.Deploy(t, "audit", map[string]string{"topic": "orders.*"})
	emb, err := queue.StartEmbedded(queue.EmbeddedOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	conn := func() *nats.Conn {
		nc, err := emb.Connect("test")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	start(t, env, conn())
	start(t, env, conn()) // a second gateway
	pub := conn()
	var reply *nats.Msg
	for deadline := time.Now().Add(10 * time.Second); ; { // until subscribed
		if reply, err = pub.Request("orders.created", []byte("order 1"), 500*time.Millisecond); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if string(reply.Data) != "order 1" || reply.Header.Get("X-Status") != "200" {
		t.Fatalf("reply %q status %q", reply.Data, reply.Header.Get("X-Status"))
	}
	if err := pub.Publish("orders.paid", []byte("order 2")); err != nil {
		t.Fatal(err)
	}
	got := env.WaitCalls(t, 2, 5*time.Second, func(c triggertest.Call) bool { return c.Function == triggertest.Key("orders") })
	audit := env.WaitCalls(t, 1, 5*time.Second, func(c triggertest.Call) bool { return c.Function == triggertest.Key("audit") })
	time.Sleep(300 * time.Millisecond) // room for a duplicate to show
	if n := len(env.Calls()); n != 4 {
		t.Fatalf("%d calls, want 4 (each message once per function): %+v", n, env.Calls())
	}
	if got[1].Body != "order 2" || got[1].Header.Get("X-Topic") != "orders.paid" || audit[0].Header.Get("X-Connector") != "ferry-nats" {
		t.Fatalf("calls: %+v %+v", got, audit)
	}

	// Deleted: no more calls for it.
	if err := env.GW.Provider.Delete(context.Background(), "openfaas-fn", "orders"); err != nil {
		t.Fatal(err)
	}
	if err := env.Index.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond) // the sources resync on the change
	if err := pub.Publish("orders.paid", []byte("order 3")); err != nil {
		t.Fatal(err)
	}
	env.WaitCalls(t, 3, 5*time.Second, func(c triggertest.Call) bool { return c.Function == triggertest.Key("audit") })
	time.Sleep(300 * time.Millisecond)
	for _, c := range env.Calls() {
		if c.Body == "order 3" && c.Function != triggertest.Key("audit") {
			t.Fatalf("deleted function called: %+v", c)
		}
	}
}
