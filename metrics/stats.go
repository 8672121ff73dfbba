package metrics

import (
	"encoding/json"
	"net/http"

	"github.com/ferryfaas/ferry/api"
)

// FunctionStats is one entry of GET /system/stats.
type FunctionStats struct {
	RPS         float64 `json:"rps"`
	Errors      float64 `json:"errors"`
	P50         float64 `json:"p50"`
	P99         float64 `json:"p99"`
	Inflight    int64   `json:"inflight"`
	Invocations float64 `json:"invocations"`
	// Requests finished and Failed (5xx) among them over the last Window
	// seconds: the error percentage the portal shows.
	Requests uint64 `json:"requests"`
	Failed   uint64 `json:"failed"`
	Window   int64  `json:"window"`
}

// Summary is the body of GET /system/stats.
type Summary struct {
	Functions map[string]FunctionStats `json:"functions"`
}

// History is the body of GET /system/stats?name=N&namespace=NS.
type History struct {
	Function string  `json:"function"`
	Range    int64   `json:"range"` // seconds asked for
	Step     int64   `json:"step"`  // seconds between points
	Points   []Point `json:"points"`
}

// ranges are the spans ?range= accepts, in seconds.
var ranges = map[string]int64{"": HistorySeconds, "5m": HistorySeconds, "1h": 3600, "24h": HistoryMinutes * 60}

// StatsHandler serves GET /system/stats for the portal from memory (no
// Prometheus needed). History is kept in memory since the server started:
// ?range=5m (default, per second), 1h or 24h (per minute). totals gives the durable invocation count (nil: the
// count since this process started).
func StatsHandler(r *Recorder, totals func(fn string) float64) http.Handler {
	if totals == nil {
		totals = func(fn string) float64 { return float64(r.Counts(fn).Finished) }
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		name, ns := q.Get("name"), q.Get("namespace")
		if name == "" && ns != "" {
			writeErr(w, api.BadRequest("namespace given without name: use /system/stats?name=N&namespace=NS"))
			return
		}
		if name != "" {
			if ns == "" {
				ns = api.DefaultNamespace
			}
			span, ok := ranges[q.Get("range")]
			if !ok {
				writeErr(w, api.BadRequest("field \"range\": %q is not one of 5m, 1h, 24h", q.Get("range")))
				return
			}
			fn := name + "." + ns
			pts, step := r.History(fn, span)
			if pts == nil {
				pts = []Point{}
			}
			writeJSON(w, History{Function: fn, Range: span, Step: step, Points: pts})
			return
		}
		out := Summary{Functions: map[string]FunctionStats{}}
		for fn, p := range r.Latest() {
			reqs, failed, secs := r.Window(fn)
			out.Functions[fn] = FunctionStats{RPS: p.RPS, Errors: p.Errors, P50: p.P50, P99: p.P99,
				Inflight: p.Inflight, Invocations: totals(fn), Requests: reqs, Failed: failed, Window: secs}
		}
		writeJSON(w, out)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	http.Error(w, err.Error(), api.StatusOf(err))
}
