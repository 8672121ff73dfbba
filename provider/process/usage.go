package process

import (
	"time"

	"github.com/ferryfaas/ferry/api"
)

// usageSample remembers the last CPU reading of a function, so the next
// one can be turned into cores used in between.
type usageSample struct {
	ticks uint64
	at    time.Time
}

// usage sums CPU and RSS over the replicas' process trees (one /proc scan
// for all the functions asked about).
func (p *Provider) usage(fs []*function) map[*function]*api.FunctionUsage {
	roots := map[int]bool{}
	owner := map[int]*function{}
	for _, f := range fs {
		f.mu.Lock()
		for _, s := range f.slots {
			if s.pid > 0 {
				roots[s.pid] = true
				owner[s.pid] = f
			}
		}
		f.mu.Unlock()
	}
	out := map[*function]*api.FunctionUsage{}
	if len(roots) == 0 {
		return out
	}
	ticks := map[*function]uint64{}
	for root, procs := range treeOf(scanProcs(), roots) {
		f := owner[root]
		u := out[f]
		if u == nil {
			u = &api.FunctionUsage{}
			out[f] = u
		}
		for _, pr := range procs {
			u.TotalMemoryBytes += float64(pr.rss * pageSize)
			ticks[f] += pr.ticks
		}
	}
	now := time.Now()
	for f, u := range out {
		f.mu.Lock()
		last := f.usage
		f.usage = usageSample{ticks: ticks[f], at: now}
		f.mu.Unlock()
		if dt := now.Sub(last.at).Seconds(); !last.at.IsZero() && dt > 0 && ticks[f] >= last.ticks {
			u.CPU = float64(ticks[f]-last.ticks) / clockTicks / dt
		}
	}
	return out
}
