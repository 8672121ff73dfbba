package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// ListFunc lists every function of every namespace (from the provider, not
// through the gateway, so no Decorate runs).
type ListFunc func(ctx context.Context) ([]api.FunctionStatus, error)

// FunctionName is the function_name label of a status: "name.namespace".
func FunctionName(st *api.FunctionStatus) string {
	ns := st.Namespace
	if ns == "" {
		ns = api.DefaultNamespace
	}
	return st.Name + "." + ns
}

// Refresh sets the replica gauges from the listed functions and forgets
// the series of functions that no longer exist.
func (r *Recorder) Refresh(list []api.FunctionStatus) {
	keep := make(map[string]bool, len(list))
	for i := range list {
		fn := FunctionName(&list[i])
		keep[fn] = true
		r.SetReplicas(fn, list[i].Replicas, max(list[i].ReadyReplicas, list[i].AvailableReplicas))
		r.SetRestarts(fn, list[i].Restarts)
	}
	r.Forget(keep)
}

// Run refreshes and samples once per second until ctx ends.
func (r *Recorder) Run(ctx context.Context, list ListFunc, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if fns, err := list(ctx); err == nil {
				r.Refresh(fns)
			} else if ctx.Err() == nil && log != nil {
				log.Warn("metrics: list functions", "err", err)
			}
			r.Sample(now)
		}
	}
}

// Decorate fills invocationCount from the durable totals.
func (d *Durable) Decorate(_ context.Context, st *api.FunctionStatus) {
	st.InvocationCount = d.Total(FunctionName(st))
}
