package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/queue"
)

func TestQueueDeadLettersCLI(t *testing.T) {
	isolate(t)
	t.Setenv("FERRY_PASSWORD", "pw")
	var redriveQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.Method + " " + r.URL.Path {
		case "GET /system/queue/dead-letters":
			json.NewEncoder(w).Encode([]queue.DeadLetter{{Seq: 7, CallID: "c-1", Function: "f.openfaas-fn", Method: "PUT",
				Attempts: 8, LastStatus: 503, LastError: "upstream down\nsecond line"}})
		case "POST /system/queue/dead-letters/redrive":
			redriveQuery = r.URL.RawQuery
			json.NewEncoder(w).Encode(queue.RedriveResult{Redriven: 1, CallIDs: []string{"c-1"}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	out := runCLI(t, "", "queue", "dead-letters", "list", "--gateway", srv.URL).must(t).stdout
	for _, want := range []string{"SEQ", "c-1", "f.openfaas-fn", "PUT", "503", "upstream down"} {
		if !strings.Contains(out, want) {
			t.Errorf("list output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "second line") {
		t.Errorf("multi-line error not cut:\n%s", out)
	}
	out = runCLI(t, "", "queue", "dlq", "redrive", "--gateway", srv.URL, "--function", "f", "--seq", "7").must(t).stdout
	if !strings.Contains(out, "Re-queued 1 call(s)") || !strings.Contains(redriveQuery, "function=f") || !strings.Contains(redriveQuery, "seq=7") {
		t.Errorf("redrive: %q (query %q)", out, redriveQuery)
	}
	t.Setenv("FERRY_PASSWORD", "wrong")
	runCLI(t, "", "queue", "dead-letters", "list", "--gateway", srv.URL).fails(t, "authentication failed")
}
