package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// Cold start: from zero replicas to the first response through
// the gateway, 20 tries per kind of function: a Go http-mode function, a
// fork-mode `cat` and a python3 http function. Published: OpenFaaS on
// Kubernetes 0.7 to 2 s, faasd 0.39 s.
func init() { Register(Scenario{Name: "coldstart", Order: 30, Run: runColdStart}) }

const pyHTTP = `import http.server

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST
    def log_message(self, *a):
        pass

http.server.HTTPServer(("127.0.0.1", %s), H).serve_forever()
`

func runColdStart(ctx context.Context, env *Env) ([]Row, error) {
	dir, echo, err := echoWorkdir("ferry-bench-cold-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	goAddr, _ := harness.FreeAddr()
	pyAddr, _ := harness.FreeAddr()
	pyPort := pyAddr[strings.LastIndexByte(pyAddr, ':')+1:]
	py := filepath.Join(dir, "handler.py")
	if err := os.WriteFile(py, []byte(fmt.Sprintf(pyHTTP, pyPort)), 0o644); err != nil {
		return nil, err
	}

	f, err := harness.Start(harness.Options{})
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	kinds := []struct {
		name, desc string
		target     time.Duration
		port       string // the upstream's fixed address: free once the old replica is gone
		deploy     map[string]any
	}{
		{"cold-go", "Go http-mode", 20 * time.Millisecond, goAddr, map[string]any{"image": "bench/echo", "envProcess": echo,
			"envVars": map[string]string{"mode": "http", "upstream_url": "http://" + goAddr, "ECHO_ADDR": goAddr}}},
		{"cold-cat", "fork-mode cat", 10 * time.Millisecond, "", map[string]any{"image": "cat", "envProcess": "cat"}},
		{"cold-py", "python3-http", 150 * time.Millisecond, pyAddr, map[string]any{"image": "bench/python3-http",
			"envProcess": "python3 " + py, "envVars": map[string]string{"mode": "http", "upstream_url": "http://" + pyAddr}}},
	}
	tries := 20
	if env.Quick {
		tries = 3
	}
	client := NewClient(1)
	var rows []Row
	for _, k := range kinds {
		d := map[string]any{"service": k.name}
		for key, v := range k.deploy {
			d[key] = v
		}
		if err := Deploy(f, d); err != nil {
			return rows, err
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := f.WaitReady(wctx, k.name, "openfaas-fn", 1)
		cancel()
		if err != nil {
			return rows, err
		}
		var lat []time.Duration
		for i := 0; i < tries; i++ {
			if err := scaleToZero(ctx, f, k.name); err != nil {
				return rows, err
			}
			if k.port != "" {
				if err := waitPortFree(ctx, k.port); err != nil {
					return rows, err
				}
			}
			client.CloseIdleConnections()
			t0 := time.Now()
			resp, err := client.Post(f.URL+"/function/"+k.name, "text/plain", strings.NewReader("cold"))
			if err != nil {
				return rows, fmt.Errorf("%s from zero: %v", k.name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			el := time.Since(t0)
			if resp.StatusCode != 200 {
				return rows, fmt.Errorf("%s from zero: %d %s", k.name, resp.StatusCode, b)
			}
			lat = append(lat, el)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p50, p99 := Percentile(lat, .5), Percentile(lat, .99)
		env.Logf("   %-14s cold start p50 %7.1f ms p99 %7.1f ms (%d tries)", k.desc, Ms(p50), Ms(p99), tries)
		rows = append(rows,
			Row{Case: k.desc + " from zero", Metric: "cold start p50", Value: Ms(p50), Unit: "ms",
				Baseline: "faasd fresh container (published)", BaselineValue: 390, Ratio: Ms(p50) / Ms(k.target),
				Target: fmt.Sprintf("<= %d ms", k.target.Milliseconds()), Met: p50 <= k.target},
			Row{Case: k.desc + " from zero", Metric: "cold start p99", Value: Ms(p99), Unit: "ms"},
		)
	}
	return rows, nil
}

// scaleToZero scales a function to 0 and waits until no replica is left.
func scaleToZero(ctx context.Context, f *harness.Ferry, name string) error {
	code, b, err := f.Do("POST", "/system/scale-function/"+name, map[string]any{"serviceName": name, "replicas": 0})
	if err != nil || code/100 != 2 {
		return fmt.Errorf("scale %s to 0: %d %s %v", name, code, b, err)
	}
	return waitReplicas(ctx, f, name, 15*time.Second, func(desired, ready uint64) bool { return desired == 0 && ready == 0 })
}

// waitPortFree waits until nothing listens on addr (the last replica's
// process is gone), so that every try really starts from nothing.
func waitPortFree(ctx context.Context, addr string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			l.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s still in use 15s after scaling to zero: the old replica did not exit", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitReplicas polls the function's status every 10 ms (bounded) until cond.
func waitReplicas(ctx context.Context, f *harness.Ferry, name string, limit time.Duration, cond func(desired, ready uint64) bool) error {
	deadline := time.Now().Add(limit)
	for {
		code, b, err := f.Do("GET", "/system/function/"+name, nil)
		if err == nil && code == http.StatusOK {
			var st struct {
				Replicas          uint64 `json:"replicas"`
				AvailableReplicas uint64 `json:"availableReplicas"`
			}
			if json.Unmarshal(b, &st) == nil && cond(st.Replicas, st.AvailableReplicas) {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("function %s: replicas condition not met within %s (last %d %s)", name, limit, code, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
