package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/queue"
	"github.com/ferryfaas/ferry/test/harness"
)

// TestQueueStatus: `ferry queue status` shows what a function's queue holds
// on a real server: one call running (max_inflight 1), the rest waiting.
func TestQueueStatus(t *testing.T) {
	f := harness.T(t, harness.Options{})
	c := newCLI(t, f, true)
	dir := t.TempDir()
	r := c.run(dir, "", nil, "deploy", "--name", "slowq", "--image", "sh", "--fprocess", "sleep 20",
		"--label", "com.openfaas.queue.max_inflight=1")
	if r.Code != 0 {
		t.Fatalf("deploy: %s%s", r.Stdout, r.Stderr)
	}
	for range 3 {
		resp, err := http.Post(f.URL+"/async-function/slowq", "text/plain", strings.NewReader("x"))
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("async: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	var got []queue.QueueStatus
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r = c.run(dir, "", nil, "queue", "status", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("queue status: %s%s", r.Stdout, r.Stderr)
		}
		if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
			t.Fatalf("queue status -o json: %v\n%s", err, r.Stdout)
		}
		for _, q := range got {
			if q.Function == "slowq.openfaas-fn" && q.InFlight == 1 && q.Pending == 2 {
				r = c.run(dir, "", nil, "queue", "status")
				if !strings.Contains(r.Stdout, "WAITING") || !strings.Contains(r.Stdout, "slowq.openfaas-fn") {
					t.Errorf("queue status table:\n%s", r.Stdout)
				}
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("queue status never showed 1 running and 2 waiting: %+v", got)
}
