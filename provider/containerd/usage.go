package containerd

import (
	"context"
	"fmt"

	cg1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	cg2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/typeurl/v2"
)

// Usage is a replica's resource use, from its cgroup.
type Usage struct {
	// MemoryBytes is the memory cgroup's usage (RSS and page cache).
	MemoryBytes uint64
	// CPUNanos is the CPU time used since the start.
	CPUNanos uint64
}

// Usage reads the replica's cgroup through containerd (v1 or v2 cgroups).
func (x *Replica) Usage(ctx context.Context) (Usage, error) {
	m, err := x.getTask().Metrics(x.r.ns(ctx))
	if err != nil {
		return Usage{}, err
	}
	v, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return Usage{}, err
	}
	switch s := v.(type) {
	case *cg1.Metrics:
		var u Usage
		if s.Memory != nil && s.Memory.Usage != nil {
			u.MemoryBytes = s.Memory.Usage.Usage
		}
		if s.CPU != nil && s.CPU.Usage != nil {
			u.CPUNanos = s.CPU.Usage.Total
		}
		return u, nil
	case *cg2.Metrics:
		var u Usage
		if s.Memory != nil {
			u.MemoryBytes = s.Memory.Usage
		}
		if s.CPU != nil {
			u.CPUNanos = s.CPU.UsageUsec * 1000
		}
		return u, nil
	}
	return Usage{}, fmt.Errorf("unknown metrics type %T", v)
}
