package metrics

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/store"
)

// Totals survive a restart: a new Recorder and Durable over the same store
// continue from the flushed figure.
func TestDurableSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder()
	d, err := OpenDurable(st, rec)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		rec.Started("f.ns")
		rec.Finished("f.ns", 200, time.Millisecond)
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	rec.Started("f.ns")
	rec.Finished("f.ns", 200, time.Millisecond)
	if got := d.Total("f.ns"); got != 8 {
		t.Fatalf("total = %v, want 8", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx, time.Hour, func(err error) { t.Error(err) }); close(done) }()
	cancel() // clean shutdown flushes
	<-done
	st.Close()

	st, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec2 := NewRecorder()
	d2, err := OpenDurable(st, rec2)
	if err != nil {
		t.Fatal(err)
	}
	rec2.Started("f.ns")
	rec2.Finished("f.ns", 200, time.Millisecond)
	s := api.FunctionStatus{Name: "f", Namespace: "ns"}
	d2.Decorate(context.Background(), &s)
	if s.InvocationCount != 9 {
		t.Fatalf("invocationCount after restart = %v, want 9", s.InvocationCount)
	}
	// A recorder that forgot the function counts from 0 without losing the base.
	if err := d2.Flush(); err != nil {
		t.Fatal(err)
	}
	rec2.Forget(nil)
	rec2.Started("f.ns")
	rec2.Finished("f.ns", 200, time.Millisecond)
	if got := d2.Total("f.ns"); got != 10 {
		t.Fatalf("total after forget = %v, want 10", got)
	}
}

func TestStatsHandler(t *testing.T) {
	rec := NewRecorder()
	rec.Started("f.openfaas-fn")
	rec.Finished("f.openfaas-fn", 200, 5*time.Millisecond)
	rec.Sample(time.Unix(50, 0))
	h := StatsHandler(rec, nil)

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/system/stats", nil))
	var sum Summary
	if err := json.Unmarshal(w.Body.Bytes(), &sum); err != nil || w.Code != 200 {
		t.Fatalf("%d %s %v", w.Code, w.Body, err)
	}
	if f := sum.Functions["f.openfaas-fn"]; f.RPS != 1 || f.Invocations != 1 || f.P50 <= 0 {
		t.Errorf("summary = %+v", sum)
	}

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/system/stats?name=f", nil))
	var hist History
	if err := json.Unmarshal(w.Body.Bytes(), &hist); err != nil {
		t.Fatal(err)
	}
	if hist.Function != "f.openfaas-fn" || len(hist.Points) != 1 || hist.Points[0].T != 50 {
		t.Errorf("history = %+v", hist)
	}

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/system/stats?namespace=x", nil))
	if w.Code != http.StatusBadRequest {
		t.Errorf("namespace without name: %d", w.Code)
	}
}
