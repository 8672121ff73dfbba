package metrics

import (
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRestartsCounter follows the provider's restart count, and keeps
// counting up when the count starts again from zero (a server restart).
func TestRestartsCounter(t *testing.T) {
	r := NewRecorder()
	for _, n := range []uint64{0, 3, 5, 2, 4} {
		r.Refresh([]api.FunctionStatus{{Name: "f", Namespace: "openfaas-fn", Replicas: 1, Restarts: n}})
	}
	want := `
# HELP ferry_function_restarts_total Replicas of a function that exited and were started again.
# TYPE ferry_function_restarts_total counter
ferry_function_restarts_total{function_name="f.openfaas-fn"} 7
`
	if err := testutil.GatherAndCompare(r.Registry(), strings.NewReader(want), "ferry_function_restarts_total"); err != nil {
		t.Fatal(err)
	}
}
