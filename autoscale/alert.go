package autoscale

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// AlertProvider is what the alert sink needs from the provider.
type AlertProvider interface {
	Get(ctx context.Context, namespace, name string) (api.FunctionStatus, error)
	Scaler
}

// alertPayload is the part of Alertmanager's webhook (version 4) we use.
type alertPayload struct {
	Version string  `json:"version"`
	Status  string  `json:"status"`
	Alerts  []alert `json:"alerts"`
}

type alert struct {
	Status string            `json:"status"`
	Labels map[string]string `json:"labels"`
}

// AlertResult is one alert's outcome in the response body.
type AlertResult struct {
	Function string `json:"function"`
	Status   string `json:"status"`
	From     uint64 `json:"from"`
	To       uint64 `json:"to"`
	Error    string `json:"error,omitempty"`
	Code     int    `json:"code"`
}

// AlertHandler serves POST /system/alert. Firing adds ceil(max*factor/100)
// replicas up to max; resolved steps down now (half the way to min) and
// again every period (Tick) until min, instead of dropping straight to min.
type AlertHandler struct {
	p         AlertProvider
	decisions *Decisions
	clock     Clock
	period    time.Duration
	log       *slog.Logger

	mu        sync.Mutex
	resolving map[string]time.Time // fn -> time of the last step down
}

// MaxAlertBody bounds the webhook body.
const MaxAlertBody = 1 << 20

// NewAlertHandler makes the sink; period is the time between two
// scale-down steps after an alert resolved.
func NewAlertHandler(p AlertProvider, decisions *Decisions, clock Clock, period time.Duration, log *slog.Logger) *AlertHandler {
	if log == nil {
		log = slog.Default()
	}
	return &AlertHandler{p: p, decisions: decisions, clock: clock, period: period, log: log, resolving: map[string]time.Time{}}
}

func (h *AlertHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxAlertBody+1))
	if err != nil {
		writeError(w, api.BadRequest("read alert payload: %w", err))
		return
	}
	if len(body) > MaxAlertBody {
		writeError(w, api.Errorf(http.StatusRequestEntityTooLarge, "alert payload over %d bytes", MaxAlertBody))
		return
	}
	var p alertPayload
	if err := json.Unmarshal(body, &p); err != nil {
		writeError(w, api.BadRequest("alert payload is not Alertmanager webhook JSON: %w", err))
		return
	}
	if len(p.Alerts) == 0 {
		writeError(w, api.BadRequest(`alert payload has no "alerts": expected Alertmanager webhook JSON (version 4)`))
		return
	}
	results := make([]AlertResult, 0, len(p.Alerts))
	code := http.StatusOK
	for _, a := range p.Alerts {
		res := h.handle(r.Context(), a)
		if res.Code > code {
			code = res.Code
		}
		results = append(results, res)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"results": results})
}

func (h *AlertHandler) handle(ctx context.Context, a alert) AlertResult {
	fail := func(res AlertResult, err error) AlertResult {
		res.Error, res.Code = err.Error(), api.StatusOf(err)
		h.log.Warn("alert not applied", "function", res.Function, "status", res.Status, "err", err)
		return res
	}
	res := AlertResult{Function: a.Labels["function_name"], Status: a.Status, Code: http.StatusOK}
	if a.Status != "firing" && a.Status != "resolved" {
		return fail(res, api.BadRequest("alert status %q: want firing or resolved", a.Status))
	}
	if res.Function == "" {
		return fail(res, api.BadRequest(`alert has no labels.function_name ("name.namespace")`))
	}
	name, ns := splitFunctionName(res.Function)
	fn := functionName(name, ns)
	res.Function = fn
	st, err := h.p.Get(ctx, ns, name)
	if err != nil {
		return fail(res, err)
	}
	pol, err := ParsePolicy(st.Labels)
	if err != nil {
		return fail(res, api.BadRequest("function %s: %w", fn, err))
	}
	cur := st.Replicas
	res.From, res.To = cur, cur
	now := h.clock.Now()
	var to uint64
	var reason string
	if a.Status == "firing" {
		h.mu.Lock()
		delete(h.resolving, fn)
		h.mu.Unlock()
		to = min(cur+pol.AlertStep(), pol.Max)
		reason = fmt.Sprintf("alert firing: +%d replicas (max %d x factor %d%%), up to max %d", pol.AlertStep(), pol.Max, pol.Factor, pol.Max)
	} else {
		h.mu.Lock()
		h.resolving[fn] = now
		h.mu.Unlock()
		to = stepDown(cur, pol)
		reason = fmt.Sprintf("alert resolved: down one step (half the way) toward min %d", pol.Min)
	}
	if to == cur {
		return res
	}
	if err := h.p.Scale(ctx, ns, name, to); err != nil {
		return fail(res, err)
	}
	res.To = to
	h.decisions.Set(fn, api.ScaleDecision{Time: now, From: cur, To: to, Desired: to, Reason: reason})
	h.log.Info("alert", "function", fn, "status", a.Status, "from", cur, "to", to)
	return res
}

// stepDown halves the distance to min (at least one replica): gradual
// from high counts, and never straight from a peak to min.
func stepDown(cur uint64, p Policy) uint64 {
	floor := max(p.Min, 1)
	if cur <= floor {
		return cur
	}
	return cur - (cur-floor+1)/2
}

// Tick continues the step-down of resolved alerts, one step per period.
func (h *AlertHandler) Tick(ctx context.Context, now time.Time) {
	h.mu.Lock()
	var due []string
	for fn, last := range h.resolving {
		if now.Sub(last) >= h.period {
			due = append(due, fn)
		}
	}
	h.mu.Unlock()
	for _, fn := range due {
		name, ns := splitFunctionName(fn)
		st, err := h.p.Get(ctx, ns, name)
		pol, perr := ParsePolicy(st.Labels)
		if err != nil || perr != nil {
			h.forget(fn)
			continue
		}
		to := stepDown(st.Replicas, pol)
		if to == st.Replicas {
			h.forget(fn)
			continue
		}
		if err := h.p.Scale(ctx, ns, name, to); err != nil {
			h.log.Warn("alert step down failed", "function", fn, "err", err)
			continue
		}
		h.decisions.Set(fn, api.ScaleDecision{Time: now, From: st.Replicas, To: to, Desired: to,
			Reason: fmt.Sprintf("alert resolved: down one step (half the way) toward min %d", pol.Min)})
		h.mu.Lock()
		if _, ok := h.resolving[fn]; ok { // a firing alert may have come in meanwhile
			h.resolving[fn] = now
		}
		h.mu.Unlock()
	}
}

func (h *AlertHandler) forget(fn string) {
	h.mu.Lock()
	delete(h.resolving, fn)
	h.mu.Unlock()
}

// Run ticks every second until ctx ends.
func (h *AlertHandler) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.Tick(ctx, h.clock.Now())
		}
	}
}

func writeError(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(api.StatusOf(err))
	fmt.Fprintln(w, err.Error())
}
