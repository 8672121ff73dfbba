package cli

import (
	"context"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/autoscale"
	"github.com/ferryfaas/ferry/metrics"
)

// scaling is what the metrics and autoscale plugins share for one Server:
// the invocation recorder, the last scaling decisions, and one cached
// listing of all functions (the provider's List scans /proc for usage, so
// the two once-a-second loops share a single call).
type scaling struct {
	rec       *metrics.Recorder
	decisions *autoscale.Decisions
	list      metrics.ListFunc
}

var (
	scalingMu  sync.Mutex
	scalingFor = map[*Server]*scaling{}
)

func sharedScaling(s *Server) *scaling {
	scalingMu.Lock()
	defer scalingMu.Unlock()
	if sh := scalingFor[s]; sh != nil {
		return sh
	}
	sh := &scaling{rec: metrics.NewRecorder(), decisions: autoscale.NewDecisions(), list: cachedList(s, 500*time.Millisecond)}
	scalingFor[s] = sh
	return sh
}

// cachedList lists every function of every namespace, reusing a listing
// younger than maxAge.
func cachedList(s *Server, maxAge time.Duration) metrics.ListFunc {
	var mu sync.Mutex
	var at time.Time
	var last []api.FunctionStatus
	return func(ctx context.Context) ([]api.FunctionStatus, error) {
		mu.Lock()
		defer mu.Unlock()
		if !at.IsZero() && time.Since(at) < maxAge {
			return last, nil
		}
		nss, err := s.Provider.ListNamespaces(ctx)
		if err != nil {
			return nil, err
		}
		var all []api.FunctionStatus
		for _, ns := range nss {
			fns, err := s.Provider.List(ctx, ns)
			if err != nil {
				if api.IsNotFound(err) {
					continue // deleted meanwhile
				}
				return nil, err
			}
			all = append(all, fns...)
		}
		at, last = time.Now(), all
		return all, nil
	}
}
