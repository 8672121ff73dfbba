package process

import (
	"time"

	"github.com/ferryfaas/ferry/api"
)

// usageSample remembers the last CPU reading of a function, so the next
// one can be turned into cores used in between.
type usageSample struct {
	cpu time.Duration
	at  time.Time
}

// usage sums what the replicas of each function use, as the runtime
// measures it (nothing when it cannot), and turns CPU time into cores
// used since the previous call.
func (p *Provider) usage(fs []*function) map[*function]*api.FunctionUsage {
	out := map[*function]*api.FunctionUsage{}
	ur, ok := p.rt.(UsageReader)
	if !ok {
		return out
	}
	var reps []Replica
	var owner []*function
	for _, f := range fs {
		f.mu.Lock()
		for _, s := range f.slots {
			if s.rep != nil {
				reps = append(reps, s.rep)
				owner = append(owner, f)
			}
		}
		f.mu.Unlock()
	}
	if len(reps) == 0 {
		return out
	}
	cpu := map[*function]time.Duration{}
	for i, u := range ur.Usage(reps) {
		f := owner[i]
		fu := out[f]
		if fu == nil {
			fu = &api.FunctionUsage{}
			out[f] = fu
		}
		fu.TotalMemoryBytes += float64(u.MemoryBytes)
		cpu[f] += u.CPU
	}
	now := time.Now()
	for f, u := range out {
		f.mu.Lock()
		last := f.usage
		f.usage = usageSample{cpu: cpu[f], at: now}
		f.mu.Unlock()
		if dt := now.Sub(last.at).Seconds(); !last.at.IsZero() && dt > 0 && cpu[f] >= last.cpu {
			u.CPU = (cpu[f] - last.cpu).Seconds() / dt
		}
	}
	return out
}
