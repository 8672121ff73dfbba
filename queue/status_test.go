package queue

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStatus reads a queue's state back from JetStream: calls waiting,
// running (max_inflight 1 holds the rest back) and dead-lettered, per
// function.
func TestStatus(t *testing.T) {
	release := make(chan struct{})
	r := newRig(t, rigOptions{maxAttempts: 1, fn: func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.URL.Path, "/bad") {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		<-release
	}})
	defer close(release)
	r.fns.add("openfaas-fn", "slow", map[string]string{LabelMaxInflight: "1"}, nil)
	r.fns.add("openfaas-fn", "bad", nil, nil)
	for range 3 {
		post(t, "POST", r.async.URL+"/async-function/slow", nil, nil).Body.Close()
	}
	post(t, "POST", r.async.URL+"/async-function/bad", nil, nil).Body.Close()

	want := map[string]QueueStatus{
		"slow.openfaas-fn": {Queue: "fn.openfaas-fn.slow", Function: "slow.openfaas-fn", Pending: 2, InFlight: 1},
		"bad.openfaas-fn":  {Queue: "fn.openfaas-fn.bad", Function: "bad.openfaas-fn", DeadLetters: 1},
	}
	deadline := time.Now().Add(15 * time.Second)
	var got []QueueStatus
	for time.Now().Before(deadline) {
		var err error
		if got, err = Status(context.Background(), r.js); err != nil {
			t.Fatal(err)
		}
		match := 0
		for _, q := range got {
			if w, ok := want[q.Function]; ok && q == w {
				match++
			}
		}
		if match == len(want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("status %+v, want %+v", got, want)
}
