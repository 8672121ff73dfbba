package natssub

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/internal/ports"
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

// embedded starts an embedded NATS server and returns a dialer of
// connections to it, closed when the test ends.
func embedded(t *testing.T) func() *nats.Conn {
	emb, err := queue.StartEmbedded(queue.EmbeddedOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	return func() *nats.Conn {
		nc, err := emb.Connect("test")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
}

// A message on a subscribed subject runs the function once even with two
// gateways subscribed; a request gets the answer; a removed function is
// unsubscribed.
func TestSubjectInvokesFunction(t *testing.T) {
	env := triggertest.Start(t)
	env.Deploy(t, "orders", map[string]string{"topic": "orders.created, orders.paid"})
	env.Deploy(t, "audit", map[string]string{"topic": "orders.*"})
	conn := embedded(t)
	gws := []*nats.Conn{conn(), conn()} // two gateways
	for _, nc := range gws {
		start(t, env, nc)
	}
	pub := conn()
	var reply *nats.Msg
	var err error
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
	if n := settle(t, env, pub, gws); n != 4 {
		t.Fatalf("%d messages delivered to the gateways, want 4 (each message once per function): %+v", n, env.Calls())
	}
	if n := len(env.Calls()); n != 4 {
		t.Fatalf("%d calls, want 4 (each message once per function): %+v", n, env.Calls())
	}
	// The calls are recorded as they end, which need not be the order the
	// messages were sent in: the request's answer can reach this test
	// before its call is recorded.
	paid := slices.IndexFunc(got, func(c triggertest.Call) bool { return c.Body == "order 2" })
	if paid < 0 || got[paid].Header.Get("X-Topic") != "orders.paid" || audit[0].Header.Get("X-Connector") != "ferry-nats" {
		t.Fatalf("calls: %+v %+v", got, audit)
	}

	// Deleted: no more calls for it.
	if err := env.GW.Provider.Delete(context.Background(), "openfaas-fn", "orders"); err != nil {
		t.Fatal(err)
	}
	if err := env.Index.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The sources resync on the change: each gateway keeps only audit's
	// subscription, and the server has its unsubscriptions.
	for deadline := time.Now().Add(5 * time.Second); gws[0].NumSubscriptions() != 1 || gws[1].NumSubscriptions() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions after the delete: %d and %d, want audit's alone", gws[0].NumSubscriptions(), gws[1].NumSubscriptions())
		}
	}
	for _, nc := range gws {
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Publish("orders.paid", []byte("order 3")); err != nil {
		t.Fatal(err)
	}
	env.WaitCalls(t, 3, 5*time.Second, func(c triggertest.Call) bool { return c.Function == triggertest.Key("audit") })
	settle(t, env, pub, gws)
	for _, c := range env.Calls() {
		if c.Body == "order 3" && c.Function != triggertest.Key("audit") {
			t.Fatalf("deleted function called: %+v", c)
		}
	}
}

// settle waits until every message the gateways have received so far has
// become a call, and returns how many they received: pub's messages have
// reached the server (Flush), the server has handed them to each gateway's
// connection (a Flush there comes back after them), and as many calls as
// deliveries are recorded. A duplicate delivery shows in the count.
func settle(t *testing.T, env *triggertest.Env, pub *nats.Conn, gws []*nats.Conn) int {
	t.Helper()
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, nc := range gws {
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		n += int(nc.Stats().InMsgs)
	}
	env.WaitCalls(t, n, 5*time.Second, func(triggertest.Call) bool { return true })
	return n
}

// A NATS server that goes away (Debian's nats-server, killed) is reported:
// the gauge drops to 0 and subscribed functions get a False NatsTrigger
// condition; once a server is back on the same address the connection
// resubscribes, the state says so, and messages run the function again.
func TestServerDownReportedAndReconnects(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server is not installed (scripts/install-deps.sh installs it)")
	}
	port, err := ports.Free()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	server := func() *exec.Cmd {
		cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return cmd
			}
			if time.Now().After(deadline) {
				t.Fatal("nats-server did not listen")
			}
		}
	}
	srv := server()
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	env := triggertest.Start(t)
	env.Deploy(t, "jobs", map[string]string{"topic": "jobs.new"})
	nc, err := queue.ConnectExternal(queue.ConnectOptions{URL: "nats://" + addr, Name: "trigger-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	start(t, env, nc)
	pub, err := nats.Connect("nats://"+addr, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Close)
	request := func(body string) {
		t.Helper()
		var err error
		for deadline := time.Now().Add(20 * time.Second); ; {
			var reply *nats.Msg
			if reply, err = pub.Request("jobs.new", []byte(body), 500*time.Millisecond); err == nil && string(reply.Data) == body {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("request %q: %v", body, err)
			}
		}
	}
	state := func(want string, gauge float64) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			st, err := env.GW.Provider.Get(context.Background(), "openfaas-fn", "jobs")
			if err != nil {
				t.Fatal(err)
			}
			env.Metrics.Decorate(context.Background(), &st)
			var got string
			for _, c := range st.Conditions {
				if c.Type == "NatsTrigger" {
					got = c.Status + " " + c.Reason + ": " + c.Message
				}
			}
			if strings.HasPrefix(got, want) && env.Gauge(t, "nats") == gauge {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("NatsTrigger condition %q, gauge %v; want %q, %v", got, env.Gauge(t, "nats"), want, gauge)
			}
		}
	}
	request("before")
	state("True BrokerReachable: connected to nats://"+addr, 1)

	srv.Process.Kill()
	srv.Wait()
	state("False BrokerDown: NATS unreachable", 0)

	srv = server()
	state("True BrokerReachable", 1)
	request("after")
}

// A message with a header HTTP cannot carry (a name that is not a token,
// a value with a control character) failed its call before it left; the
// trigger retried it forever, in every slot of the function, so later
// messages never ran. Now it runs without those headers.
func TestUnsendableHeaderDropped(t *testing.T) {
	env := triggertest.Start(t)
	env.Deploy(t, "fn", map[string]string{"topic": "orders", trigger.AnnotationConcurrency: "1"})
	port, err := ports.Free()
	if err != nil {
		t.Fatal(err)
	}
	emb, err := queue.StartEmbedded(queue.EmbeddedOptions{StoreDir: t.TempDir(),
		Listen: "127.0.0.1:" + strconv.Itoa(port), User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	nc, err := emb.Connect("trigger")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	start(t, env, nc)
	// nats.go refuses to send a header name HTTP could not carry, other
	// clients do not: the protocol, by hand.
	raw, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	hdr := "NATS/1.0\r\nBad Header: x\r\nBad-Value: a\x01b\r\nKept: y\r\n\r\n"
	body := "poison"
	hpub := fmt.Sprintf("HPUB orders %d %d\r\n%s%s\r\n", len(hdr), len(hdr)+len(body), hdr, body)
	if _, err := fmt.Fprintf(raw, "CONNECT {\"user\":\"u\",\"pass\":\"p\",\"headers\":true,\"verbose\":false}\r\n"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(env.Calls()) == 0; { // until subscribed
		if _, err := io.WriteString(raw, hpub+"PUB orders 4\r\nnext\r\n"); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no call")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Published until the first call: each round is one poison message
	// then a normal one, so both kinds ran.
	calls := env.WaitCalls(t, 2, 5*time.Second, func(triggertest.Call) bool { return true })
	var poison, next int
	for _, c := range env.Calls() {
		switch c.Body {
		case "poison":
			poison++
			if c.Header.Get("Kept") != "y" || c.Header.Get("Bad-Value") != "" || len(c.Header.Values("Bad Header")) != 0 {
				t.Errorf("poison message's headers: %v", c.Header)
			}
		case "next":
			next++
		}
	}
	if poison == 0 || next == 0 {
		t.Fatalf("%d poison and %d normal calls, want both: %+v", poison, next, calls)
	}
}
