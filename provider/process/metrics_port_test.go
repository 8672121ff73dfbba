//go:build linux

package process

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
)

// Every replica serves its watchdog metrics on a loopback port of its own,
// given in its endpoint, so the gateway can re-expose them.
func TestReplicaMetricsAddress(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(api.FunctionDeployment{Service: "m", EnvProcess: "cat", Labels: map[string]string{"com.openfaas.scale.min": "2"}})
	r := e.waitReady("m", 2)
	seen := map[string]bool{}
	for _, ep := range r.Endpoints {
		if !strings.HasPrefix(ep.MetricsAddress, "127.0.0.1:") || ep.MetricsAddress == ep.Address || seen[ep.MetricsAddress] {
			t.Fatalf("%s: metrics address %q (watchdog %q)", ep.Instance, ep.MetricsAddress, ep.Address)
		}
		seen[ep.MetricsAddress] = true
		if code, _ := invoke(t, ep, "x"); code != 200 {
			t.Fatalf("%s: invoke %d", ep.Instance, code)
		}
		resp, err := http.Get("http://" + ep.MetricsAddress + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `http_requests_total{code="200",method="post"} 1`) {
			t.Errorf("%s /metrics lacks the invocation:\n%s", ep.Instance, b)
		}
	}
}
