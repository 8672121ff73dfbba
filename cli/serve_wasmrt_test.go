package cli

import (
	"strings"
	"testing"
)

func TestWasmBudgetFlag(t *testing.T) {
	for v, want := range map[string]int64{"0": 0, "2Gi": 2 << 30, "512Mi": 512 << 20} {
		if n, err := (&wasmFlags{budget: v}).budgetBytes(); err != nil || n != want {
			t.Errorf("%s: %d %v, want %d", v, n, err, want)
		}
	}
	if n, err := (&wasmFlags{budget: "auto"}).budgetBytes(); err != nil || n < minWasmBudget || n > availableMemory() {
		t.Errorf("auto: %d %v (memory %d)", n, err, availableMemory())
	}
	for _, bad := range []string{"lots", "-1Gi", "1Mi", "2gb"} {
		if _, err := (&wasmFlags{budget: bad}).budgetBytes(); err == nil || !strings.Contains(err.Error(), "--wasm-memory-budget") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
