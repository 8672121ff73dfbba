package autoscale

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func alertBody(status string, fns ...string) string {
	var alerts []string
	for _, fn := range fns {
		alerts = append(alerts, `{"status":"`+status+`","labels":{"alertname":"APIHighInvocationRate","function_name":"`+fn+`"}}`)
	}
	return `{"version":"4","status":"` + status + `","receiver":"scale-up","alerts":[` + strings.Join(alerts, ",") + `]}`
}

func TestAlertHandler(t *testing.T) {
	cases := []struct {
		name     string
		body     string
		replicas uint64
		labels   map[string]string
		code     int
		want     uint64
		msg      string
	}{
		{"firing adds max*factor", alertBody("firing", "f.openfaas-fn"), 1, nil, 200, 3, ""},
		{"firing name without namespace", alertBody("firing", "f"), 1, nil, 200, 3, ""},
		{"firing capped at max", alertBody("firing", "f.openfaas-fn"), 19, nil, 200, 20, ""},
		{"firing factor 50 max 4", alertBody("firing", "f.openfaas-fn"), 1, map[string]string{LabelMax: "4", LabelFactor: "50"}, 200, 3, ""},
		{"resolved one step not min", alertBody("resolved", "f.openfaas-fn"), 10, nil, 200, 5, ""},
		{"resolved from 2 to min 1", alertBody("resolved", "f.openfaas-fn"), 2, nil, 200, 1, ""},
		{"resolved at min stays", alertBody("resolved", "f.openfaas-fn"), 1, nil, 200, 1, ""},
		{"unknown function", alertBody("firing", "ghost.openfaas-fn"), 1, nil, 404, 1, "not found"},
		{"invalid labels", alertBody("firing", "f.openfaas-fn"), 1, map[string]string{LabelFactor: "0"}, 400, 1, "factor"},
		{"not json", `{"alerts": [`, 1, nil, 400, 1, "not Alertmanager webhook JSON"},
		{"wrong type", `{"alerts": "x"}`, 1, nil, 400, 1, "not Alertmanager webhook JSON"},
		{"no alerts", `{"version":"4","status":"firing"}`, 1, nil, 400, 1, `no "alerts"`},
		{"no function_name", `{"alerts":[{"status":"firing","labels":{}}]}`, 1, nil, 400, 1, "function_name"},
		{"bad status", alertBody("exploding", "f.openfaas-fn"), 1, nil, 400, 1, "firing or resolved"},
		{"null labels", `{"alerts":[{"status":"firing","labels":null}]}`, 1, nil, 400, 1, "function_name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newFakeProvider()
			p.add("f", c.replicas, c.labels)
			h := NewAlertHandler(p, NewDecisions(), &fakeClock{time.Unix(100, 0)}, 5*time.Second, quiet)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("POST", "/system/alert", strings.NewReader(c.body)))
			if w.Code != c.code {
				t.Fatalf("status %d, want %d: %s", w.Code, c.code, w.Body)
			}
			if c.msg != "" && !strings.Contains(w.Body.String(), c.msg) {
				t.Errorf("body %q lacks %q", w.Body, c.msg)
			}
			if got := p.replicas("f"); got != c.want {
				t.Errorf("replicas %d, want %d", got, c.want)
			}
		})
	}
}

func TestAlertMixedResultsAndGradualResolve(t *testing.T) {
	p := newFakeProvider()
	p.add("f", 1, nil)
	clock := &fakeClock{time.Unix(100, 0)}
	dec := NewDecisions()
	h := NewAlertHandler(p, dec, clock, 5*time.Second, quiet)
	post := func(body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/system/alert", strings.NewReader(body)))
		return w
	}
	w := post(alertBody("firing", "f.openfaas-fn", "ghost.openfaas-fn"))
	var out struct{ Results []AlertResult }
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != http.StatusNotFound || len(out.Results) != 2 ||
		out.Results[0].To != 3 || out.Results[1].Code != 404 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	for i := 0; i < 4; i++ {
		post(alertBody("firing", "f.openfaas-fn"))
	}
	if got := p.replicas("f"); got != 11 {
		t.Fatalf("after 5 firing alerts: %d, want 11", got)
	}
	if d, _ := dec.Get("f.openfaas-fn"); d.To != 11 || !strings.Contains(d.Reason, "firing") {
		t.Errorf("decision %+v", d)
	}
	post(alertBody("resolved", "f.openfaas-fn"))
	seq := []uint64{p.replicas("f")}
	for i := 0; i < 40; i++ {
		clock.t = clock.t.Add(time.Second)
		h.Tick(context.Background(), clock.t)
		if n := p.replicas("f"); n != seq[len(seq)-1] {
			seq = append(seq, n)
		}
	}
	want := []uint64{6, 3, 2, 1}
	if len(seq) != len(want) {
		t.Fatalf("step down %v, want %v", seq, want)
	}
	for i := range want {
		if seq[i] != want[i] {
			t.Fatalf("step down %v, want %v", seq, want)
		}
	}
}
