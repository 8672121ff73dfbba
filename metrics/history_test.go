package metrics

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Two hours of one call a second, one in ten failing: the 1 h range has
// one point a minute with the minute's rates and peak in-flight count, the
// 5 min range one a second, and the summary's error share covers the
// per-second window, not one second.
func TestHistoryRangesAndWindow(t *testing.T) {
	rec := NewRecorder()
	const fn = "f.openfaas-fn"
	t0 := time.Unix(6000, 0) // on a minute boundary
	for i := 0; i < 2*3600; i++ {
		code := 200
		if i%10 == 0 {
			code = 500
		}
		rec.Started(fn)
		if i == 90 {
			rec.Started(fn) // stays in flight
		}
		rec.Finished(fn, code, 2*time.Millisecond)
		rec.Sample(t0.Add(time.Duration(i) * time.Second))
	}
	h := StatsHandler(rec, nil)
	get := func(q string) (int, History) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/system/stats"+q, nil))
		var hist History
		json.Unmarshal(w.Body.Bytes(), &hist)
		return w.Code, hist
	}

	code, hr := get("?name=f&range=1h")
	if code != 200 || hr.Step != 60 || hr.Range != 3600 || len(hr.Points) != 60 {
		t.Fatalf("1h: %d step %d range %d, %d points", code, hr.Step, hr.Range, len(hr.Points))
	}
	for _, p := range hr.Points {
		if p.T%60 != 0 || p.RPS != 1 || p.Errors != 0.1 || p.P50 <= 0 {
			t.Fatalf("1h point %+v, want one a minute at 1 req/s, 0.1 err/s", p)
		}
	}
	code, day := get("?name=f&range=24h")
	if code != 200 || day.Step != 60 || len(day.Points) != 119 { // the first minute is partial and not reported
		t.Errorf("24h: %d step %d, %d points", code, day.Step, len(day.Points))
	}
	if day.Points[0].Inflight != 0 || day.Points[1].Inflight != 1 {
		t.Errorf("minute points' in-flight peaks: %d %d, want 0 then 1", day.Points[0].Inflight, day.Points[1].Inflight)
	}
	if code, m5 := get("?name=f&range=5m"); code != 200 || m5.Step != 1 || len(m5.Points) != HistorySeconds {
		t.Errorf("5m: %d step %d, %d points", code, m5.Step, len(m5.Points))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/system/stats?name=f&range=7d", nil))
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"range"`) {
		t.Errorf("range=7d: %d %s, want a 400 naming the field", w.Code, w.Body)
	}

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/system/stats", nil))
	var sum Summary
	json.Unmarshal(w.Body.Bytes(), &sum)
	f := sum.Functions[fn]
	if f.Window != HistorySeconds-1 || f.Requests != uint64(f.Window) || f.Failed != f.Requests/10 {
		t.Errorf("window: %d requests, %d failed over %d s; want 10%% failed over %d s", f.Requests, f.Failed, f.Window, HistorySeconds-1)
	}
}
