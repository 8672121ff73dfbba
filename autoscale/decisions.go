package autoscale

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// Clock is injected so that tests decide what time it is.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// RealClock is the wall clock.
var RealClock Clock = realClock{}

// Decisions keeps the last scaling decision per function ("name.ns"), from
// the autoscaler or from an alert, for `ferry describe` and the API.
type Decisions struct {
	mu sync.Mutex
	m  map[string]api.ScaleDecision
}

// NewDecisions makes an empty set.
func NewDecisions() *Decisions { return &Decisions{m: map[string]api.ScaleDecision{}} }

// Set records fn's latest decision.
func (d *Decisions) Set(fn string, dec api.ScaleDecision) {
	d.mu.Lock()
	d.m[fn] = dec
	d.mu.Unlock()
}

// Get returns fn's latest decision.
func (d *Decisions) Get(fn string) (api.ScaleDecision, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dec, ok := d.m[fn]
	return dec, ok
}

// Decorate adds the last decision and, when the scaling labels are invalid,
// a "ScaleLabels" condition with the problem to a function's status. The
// labels are checked here too so the problem shows even with the autoscaler
// off.
func (d *Decisions) Decorate(_ context.Context, st *api.FunctionStatus) {
	if d != nil {
		if dec, ok := d.Get(functionName(st.Name, st.Namespace)); ok {
			st.Autoscaler = &dec
		}
	}
	if _, err := ParsePolicy(st.Labels); err != nil {
		st.Conditions = append(st.Conditions, api.Condition{
			Type: "ScaleLabels", Status: "False", Reason: "InvalidLabels", Message: err.Error(), Time: time.Now(),
		})
	}
}

func functionName(name, ns string) string {
	if ns == "" {
		ns = api.DefaultNamespace
	}
	return name + "." + ns
}

// splitFunctionName splits "name.ns" at the last dot (contract section 1).
func splitFunctionName(fn string) (name, ns string) {
	if i := strings.LastIndexByte(fn, '.'); i > 0 && i < len(fn)-1 {
		return fn[:i], fn[i+1:]
	}
	return fn, api.DefaultNamespace
}
