package wasmrt

import (
	"context"
	"fmt"
	"net/http"
)

// BudgetFlag names the setting that sizes the budget, for the messages of
// refused calls.
const BudgetFlag = "--wasm-memory-budget (env FERRY_WASM_MEMORY_BUDGET)"

// admit reserves what the call needs to start; when the budget cannot
// hold it, it answers the refusal itself and returns nil.
func (h *handler) admit(ctx context.Context, w http.ResponseWriter) *lease {
	want := admission(h.v.mod, h.budget)
	if l := admit(ctx, h.budget, h.use, h.v.mod, want); l != nil {
		return l
	}
	h.refuse(w, want, "to start")
	return nil
}

// refuse answers a call the budget could not hold (need: the bytes it
// asked for, what: "to start" or "more"): 503 with a Retry-After, saying
// which limit and what to set. The guest's own output is not returned:
// it only says it ran out of memory.
func (h *handler) refuse(w http.ResponseWriter, need uint64, what string) {
	b := h.budget
	msg := fmt.Sprintf("wasm memory budget exhausted: this call asked for %s %s while calls in flight hold %s of the server's %s; retry, or raise %s, or lower limits.memory",
		mib(need), what, mib(b.Reserved()), mib(b.Limit()), BudgetFlag)
	if need > b.Limit() {
		msg = fmt.Sprintf("wasm memory budget too small: this call asked for %s %s, more than the server's whole %s; raise %s, or lower limits.memory",
			mib(need), what, mib(b.Limit()), BudgetFlag)
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, msg, http.StatusServiceUnavailable)
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
