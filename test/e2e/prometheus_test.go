package e2e

import (
	"context"
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
