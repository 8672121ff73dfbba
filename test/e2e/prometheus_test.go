package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	promcfg "github.com/ferryfaas/ferry/deploy/prometheus"
	"github.com/ferryfaas/ferry/test/harness"
)

// daemon starts a real binary (Debian's prometheus or alertmanager) on
// loopback and waits for its /-/ready; it is killed at cleanup.
func daemon(t *testing.T, addr, logName string, argv ...string) {
	t.Helper()
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		t.Fatalf("%s not found: run scripts/install-deps.sh (Debian packages prometheus, prometheus-alertmanager)", argv[0])
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), logName))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			lines := strings.Split(string(b), "\n")
			if len(lines) > 30 {
				lines = lines[len(lines)-30:]
			}
			t.Logf("%s (tail):\n%s", logName, strings.Join(lines, "\n"))
		}
		logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready on %s within 30s", argv[0], addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPrometheusAlertScaling runs the OpenFaaS path with the REAL
// Prometheus and Alertmanager and the shipped configs (1 s intervals):
// load on a function fires APIHighInvocationRate, Alertmanager POSTs
// /system/alert, replicas rise; the load stops, the alert resolves and
// replicas step back down to min. The built-in autoscaler is off.
func TestPrometheusAlertScaling(t *testing.T) {
	f := harness.T(t, harness.Options{Args: []string{"--autoscale=false", "--alert-step-period", "2s"}})
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(f.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	amAddr, _ := harness.FreeAddr()
	promAddr, _ := harness.FreeAddr()
	promYML, amYML := promcfg.Render(promcfg.Options{Gateway: f.Addr, Alertmanager: amAddr, PasswordFile: pw})
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(promYML), 0o600)
	os.WriteFile(filepath.Join(dir, "alert.rules.yml"), []byte(promcfg.AlertRulesYML), 0o600)
	os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(amYML), 0o600)
	daemon(t, amAddr, "alertmanager.log", "prometheus-alertmanager",
		"--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	daemon(t, promAddr, "prometheus.log", "prometheus",
		"--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr)

	// max 6, factor 34: each firing alert adds ceil(6*34/100) = 3 replicas.
	deploy(t, f, map[string]any{"service": "hot", "image": "cat", "envProcess": "cat", "labels": map[string]string{
		"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "6", "com.openfaas.scale.factor": "34",
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := f.WaitReady(ctx, "hot", ns, 1); err != nil {
		t.Fatal(err)
	}

	// 20 req/s is over the rule's 5 req/s; bounded to 60 s and 1200 requests.
	lctx, stop := context.WithTimeout(ctx, 60*time.Second)
	defer stop()
	start := time.Now()
	load := pacedLoad(lctx, f.URL+"/function/hot", 20, 1200)
	waitFn(t, f, "hot", 55*time.Second, "replicas raised by the alert", func(st fnState) bool { return st.Replicas >= 4 })
	t.Logf("alert raised replicas %s after the load started", time.Since(start).Round(time.Millisecond))
	stop()
	load.wait()
	if sent, ok := load.sent.Load(), load.ok.Load(); sent-ok > sent/100+1 {
		t.Errorf("%d of %d requests failed: %v", sent-ok, sent, load.errs)
	}
	st := getFn(t, f, "hot")
	if st.Autoscaler == nil || !strings.Contains(st.Autoscaler.Reason, "alert firing") {
		t.Errorf("decision should name the firing alert: %+v", st.Autoscaler)
	}
	peak := st.Replicas

	stopped := time.Now()
	seen := waitFn(t, f, "hot", 90*time.Second, "back to min after the alert resolved", func(st fnState) bool {
		return st.Replicas == 1
	})
	t.Logf("back to min %s after the load stopped: %+v", time.Since(stopped).Round(time.Millisecond), seen)
	var between bool
	for _, s := range seen {
		if s.Replicas > 1 && s.Replicas < peak {
			between = true
		}
	}
	if !between {
		t.Errorf("dropped straight from %d to min: %+v", peak, seen)
	}
	if st := getFn(t, f, "hot"); st.Autoscaler == nil || !strings.Contains(st.Autoscaler.Reason, "resolved") {
		t.Errorf("decision should name the resolved alert: %+v", st.Autoscaler)
	}
}

// TestMetricsAndDurableCounts: /metrics carries the contract names (behind
// auth on the API port, without it on --metrics-listen), /system/stats serves the portal's history, and invocationCount
// survives a graceful restart (flushed on shutdown: exact) and a kill -9
// (at most one --counter-flush interval lost: exact here, as the test
// waits for a flush first).
func TestMetricsAndDurableCounts(t *testing.T) {
	metricsAddr, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	f := harness.T(t, harness.Options{Args: []string{"--counter-flush", "300ms", "--metrics-listen", metricsAddr}})
	metricsURL := "http://" + metricsAddr + "/metrics"
	if resp, err := http.Get(f.URL + "/metrics"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics on the API port without auth should be 401: %v %v", resp, err)
	}
	deployCat(t, f, "counted")
	call := func(n int) { invokeN(t, f, "counted", n) }
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	call(10)
	if code, b, err := f.Do("GET", "/metrics", nil); err != nil || code != 200 || !strings.Contains(string(b), `function_name="counted.openfaas-fn"`) {
		t.Errorf("/metrics on the API port with auth: %d %v", code, err)
	}
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	_, _ = io.Copy(&body, resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`gateway_function_invocation_total{code="200",function_name="counted.openfaas-fn"} 10`,
		`gateway_function_invocation_started{function_name="counted.openfaas-fn"} 10`,
		`gateway_functions_seconds_count{code="200",function_name="counted.openfaas-fn"} 10`,
		`gateway_function_invocation_inflight{function_name="counted.openfaas-fn"} 0`,
	} {
		if resp.StatusCode != 200 || !strings.Contains(body.String(), want) {
			t.Errorf("/metrics (%d) lacks %s", resp.StatusCode, want)
		}
	}
	waitMetric := func(want string) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := http.Get(metricsURL)
			if err == nil {
				var b strings.Builder
				io.Copy(&b, resp.Body)
				resp.Body.Close()
				if strings.Contains(b.String(), want) {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("/metrics never showed %s", want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitMetric(`gateway_service_count{function_name="counted.openfaas-fn"} 1`)
	waitMetric(`gateway_function_replicas_ready{function_name="counted.openfaas-fn"} 1`)

	code, b, err := f.Do("GET", "/system/stats?name=counted&namespace="+ns, nil)
	var hist struct {
		Function string
		Points   []struct{ T int64 }
	}
	if err != nil || code != 200 || json.Unmarshal(b, &hist) != nil || hist.Function != "counted."+ns || len(hist.Points) == 0 {
		t.Errorf("/system/stats history: %d %s %v", code, b, err)
	}
	if code, _, _ := f.Do("GET", "/system/stats", nil); code != 200 {
		t.Errorf("/system/stats: %d", code)
	}
	if resp, err := http.Get(f.URL + "/system/stats"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/system/stats without auth should be 401: %v %v", resp.StatusCode, err)
	}

	time.Sleep(time.Second) // more than one flush interval
	if err := f.Restart(true); err != nil {
		t.Fatal(err)
	}
	if got := getFn(t, f, "counted").InvocationCount; got != 10 {
		t.Fatalf("invocationCount after kill -9 = %v, want 10", got)
	}
	if err := f.WaitReady(ctx, "counted", ns, 1); err != nil {
		t.Fatal(err)
	}
	call(5)
	if err := f.Restart(false); err != nil { // graceful: flushed on the way out
		t.Fatal(err)
	}
	if got := getFn(t, f, "counted").InvocationCount; got != 15 {
		t.Fatalf("invocationCount after a graceful restart = %v, want 15", got)
	}
}
