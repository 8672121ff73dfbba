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
}

// Summary is the body of GET /system/stats.
type Summary struct {
	Functions map[string]FunctionStats `json:"functions"`
}

// History is the body of GET /system/stats?name=N&namespace=NS.
type History struct {
	Function string  `json:"function"`
	Points   []Point `json:"points"`
}

// StatsHandler serves GET /system/stats for the portal from memory (no
// Prometheus needed). totals gives the durable invocation count (nil: the
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
			fn := name + "." + ns
			pts := r.History(fn)
			if pts == nil {
				pts = []Point{}
			}
			writeJSON(w, History{Function: fn, Points: pts})
			return
		}
		out := Summary{Functions: map[string]FunctionStats{}}
		for fn, p := range r.Latest() {
			out.Functions[fn] = FunctionStats{RPS: p.RPS, Errors: p.Errors, P50: p.P50, P99: p.P99,
				Inflight: p.Inflight, Invocations: totals(fn)}
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
