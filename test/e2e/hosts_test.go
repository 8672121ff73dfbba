package e2e

import (
	"io"
	"net/http"
	"testing"

	"github.com/ferryfaas/ferry/test/harness"
)

// `ferry serve` on loopback answers a request whose Host is a name DNS
// could re-point at 127.0.0.1 (a web page rebinding its own name) with
// 421, unless --allowed-host names it.
func TestServeLoopbackRefusesRebindableHosts(t *testing.T) {
	f := harness.T(t, harness.Options{Args: []string{"--allowed-host", "gw.example"}})
	for host, want := range map[string]int{
		"attacker.example": 421,
		f.Addr:             200,
		"localhost":        200,
		"gw.example":       200,
	} {
		req, _ := http.NewRequest("GET", f.URL+"/healthz", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q: %d %q, want %d", host, resp.StatusCode, b, want)
		}
	}
}
