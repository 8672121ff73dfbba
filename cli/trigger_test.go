package cli

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
)

func TestTriggerUsageErrors(t *testing.T) {
	isolate(t)
	runCLI(t, "", "trigger", "kafka").fails(t, "--kafka-brokers is required")
	runCLI(t, "", "trigger", "nats").fails(t, "--nats-url is required")
	runCLI(t, "", "trigger", "kafka", "--kafka-brokers", "127.0.0.1:1", "--kafka-sasl-mechanism", "plain").fails(t, "add --kafka-tls")
	runCLI(t, "", "trigger", "kafka", "--kafka-brokers", "127.0.0.1:1", "--kafka-sasl-mechanism", "md5").fails(t, "use plain, scram-sha-256 or scram-sha-512")
}

// `ferry trigger cron` on its own lists the functions of a gateway with
// the local admin credentials and runs a cron function on its schedule.
func TestTriggerCronStandalone(t *testing.T) {
	gw := localGateway(t)
	if err := gw.Provider.Deploy(context.Background(), api.FunctionDeployment{Service: "tick", Image: "x",
		Namespace: api.DefaultNamespace, Annotations: map[string]string{"topic": "cron-function", "schedule": "* * * * * *"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	root := NewRoot()
	root.SetArgs([]string{"trigger", "cron", "--poll", "100ms", "--state", t.TempDir() + "/cron.json"})
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() { cancel(); <-done }()
	logs := func() int {
		ch, err := gw.Provider.Logs(context.Background(), api.LogRequest{Name: "tick", Namespace: api.DefaultNamespace, Tail: -1})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for range ch {
			n++
		}
		return n
	}
	for deadline := time.Now().Add(15 * time.Second); logs() < 2; {
		select {
		case err := <-done:
			t.Fatalf("ferry trigger cron exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cron function called %d times", logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
