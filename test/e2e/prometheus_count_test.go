package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	promcfg "github.com/ferryfaas/ferry/deploy/prometheus"
	"github.com/ferryfaas/ferry/test/harness"
)

// TestInvocationCountFromPrometheus: with --prometheus-url, invocationCount
// is what the REAL Prometheus holds (the shipped config, 1 s scrapes), not
// the local count: Prometheus also scrapes an "earlier gateway" that
// counted 1000 invocations of the same function, and the API shows the
// sum. Before Prometheus is up and after it is killed, the local count is
// shown, with a warning in the log.
func TestInvocationCountFromPrometheus(t *testing.T) {
	promAddr, _ := harness.FreeAddr()
	var log harness.LockedBuffer
	f := harness.T(t, harness.Options{Args: []string{"--prometheus-url", "http://" + promAddr}, Log: &log})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ferry serve log:\n%s", log.String())
		}
	})
	deployCat(t, f, "cat")
	call := func(n int) { invokeN(t, f, "cat", n) }

	// Prometheus not started yet: the local count, and a warning.
	call(3)
	if got := getFn(t, f, "cat").InvocationCount; got != 3 {
		t.Errorf("invocationCount with Prometheus down = %v, want the local 3", got)
	}
	if !strings.Contains(log.String(), "cannot read invocation counts from Prometheus") {
		t.Error("no warning logged while Prometheus is unreachable")
	}

	earlier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "# TYPE gateway_function_invocation_total counter\ngateway_function_invocation_total{code=\"200\",function_name=\"cat.%s\"} 1000\n", ns)
	}))
	defer earlier.Close()
	dir := t.TempDir()
	pw := filepath.Join(dir, "password") // /metrics needs the admin's basic auth
	if err := os.WriteFile(pw, []byte(f.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	promYML, _ := promcfg.Render(promcfg.Options{Gateway: f.Addr, Alertmanager: "127.0.0.1:1", PasswordFile: pw})
	promYML += fmt.Sprintf("  - job_name: earlier-gateway\n    static_configs:\n      - targets: [%q]\n", strings.TrimPrefix(earlier.URL, "http://"))
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(promYML), 0o600)
	os.WriteFile(filepath.Join(dir, "alert.rules.yml"), []byte(promcfg.AlertRulesYML), 0o600)
	stopProm := startPrometheus(t, promAddr, dir)

	call(7)
	start := time.Now()
	waitFn(t, f, "cat", 30*time.Second, "invocationCount from Prometheus (10 here + 1000 earlier)", func(st fnState) bool {
		return st.InvocationCount == 1010
	})
	t.Logf("invocationCount followed Prometheus %s after the last invocation (first scrapes)", time.Since(start).Round(time.Millisecond))
	call(5)
	start = time.Now()
	waitFn(t, f, "cat", 15*time.Second, "invocationCount from Prometheus after 5 more", func(st fnState) bool {
		return st.InvocationCount == 1015
	})
	t.Logf("and %s after 5 more (1 s scrapes, 1.5 s cache)", time.Since(start).Round(time.Millisecond))

	// Prometheus gone: the local count again within the cache time, and
	// listings stay fast.
	stopProm()
	killed := time.Now()
	waitFn(t, f, "cat", 10*time.Second, "local invocationCount after Prometheus died", func(st fnState) bool {
		return st.InvocationCount == 15
	})
	t.Logf("back to the local count %s after Prometheus was killed", time.Since(killed).Round(time.Millisecond))
	t0 := time.Now()
	if code, b, err := f.Do("GET", "/system/functions?namespace="+ns, nil); err != nil || code != 200 {
		t.Fatalf("list with Prometheus down: %d %s %v", code, b, err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("listing took %s with Prometheus down", d)
	}
}

// startPrometheus runs Debian's prometheus on addr with dir's config and
// waits for /-/ready; stop kills it (cleanup does otherwise).
func startPrometheus(t *testing.T, addr, dir string) (stop func()) {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus not found: run scripts/install-deps.sh (Debian package prometheus)")
	}
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Process.Wait(); close(exited) }()
	var once sync.Once
	stop = func() { once.Do(func() { cmd.Process.Kill(); <-exited }) }
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log (tail):\n%s", lastLines(string(b), 30))
		}
		logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return stop
			}
		}
		select {
		case <-exited:
			t.Fatalf("prometheus exited at start (see its log)")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready on %s within 30s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
