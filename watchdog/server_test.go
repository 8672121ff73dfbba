package watchdog

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHealthAndLockFile(t *testing.T) {
	cfg := testConfig(t, "fprocess=cat")
	cfg.LockDir = t.TempDir()
	wd := start(t, cfg)
	for _, p := range []string{"/_/health", "/_/ready"} {
		if code, _, _ := call(t, "GET", wd.url+p, ""); code != 200 {
			t.Errorf("%s = %d", p, code)
		}
	}
	lock := filepath.Join(cfg.LockDir, ".lock")
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("lock file not written once ready: %v", err)
	}
	if err := wd.stop(t); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("lock file left after drain: %v", err)
	}
}

func TestSuppressLock(t *testing.T) {
	cfg := testConfig(t, "fprocess=cat", "suppress_lock=true")
	cfg.LockDir = t.TempDir()
	start(t, cfg)
	if _, err := os.Stat(filepath.Join(cfg.LockDir, ".lock")); !os.IsNotExist(err) {
		t.Errorf("lock written despite suppress_lock: %v", err)
	}
}

// holdRequest starts a streaming `cat` call whose body stays open, and
// returns once its first echo came back (so it is surely in flight).
func holdRequest(t *testing.T, url string) (finish func() string) {
	t.Helper()
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", url, pr)
	type result struct {
		resp *http.Response
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		resp, err := client.Do(req)
		ch <- result{resp, err}
	}()
	io.WriteString(pw, "start\n")
	var r result
	select {
	case r = <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("held request got no response headers")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.resp.StatusCode != 200 {
		t.Fatalf("held request: %d", r.resp.StatusCode)
	}
	rd := bufio.NewReader(r.resp.Body)
	if l, err := rd.ReadString('\n'); err != nil || l != "start\n" {
		t.Fatalf("held request first line %q %v", l, err)
	}
	return func() string {
		io.WriteString(pw, "end\n")
		pw.Close()
		rest, _ := io.ReadAll(rd)
		r.resp.Body.Close()
		return "start\n" + string(rest)
	}
}

func TestMaxInflight(t *testing.T) {
	wd := start(t, testConfig(t, "fprocess=cat", "max_inflight=1"))
	finish := holdRequest(t, wd.url+"/")
	if code, _, _ := call(t, "GET", wd.url+"/_/ready", ""); code != 429 {
		t.Errorf("/_/ready at max_inflight = %d, want 429", code)
	}
	if code, _, _ := call(t, "GET", wd.url+"/_/health", ""); code != 200 {
		t.Errorf("/_/health at max_inflight = %d, want 200", code)
	}
	if code, _, body := call(t, "POST", wd.url+"/", "x"); code != 429 {
		t.Errorf("request over max_inflight = %d %q, want 429", code, body)
	}
	if got := finish(); got != "start\nend\n" {
		t.Errorf("held request body %q", got)
	}
	if code, _, body := call(t, "POST", wd.url+"/", "x"); code != 200 || body != "x" {
		t.Errorf("after the slot freed: %d %q", code, body)
	}
	if code, _, _ := call(t, "GET", wd.url+"/_/ready", ""); code != 200 {
		t.Errorf("/_/ready after = %d", code)
	}
}

// TestDrain: cancelling Run (what SIGTERM does) turns health to 503 at once,
// lets the in-flight request finish, and returns nil.
func TestDrain(t *testing.T) {
	cfg := testConfig(t, "fprocess=cat", "healthcheck_interval=10s")
	cfg.HealthcheckInterval = 400 * time.Millisecond
	wd := start(t, cfg)
	finish := holdRequest(t, wd.url+"/")
	wd.cancel()
	waitStatus(t, wd.url+"/_/health", 503, 2*time.Second)
	if code, _, _ := call(t, "GET", wd.url+"/_/ready", ""); code != 503 {
		t.Errorf("ready while draining = %d", code)
	}
	if got := finish(); got != "start\nend\n" {
		t.Errorf("in-flight request cut: %q", got)
	}
	if err := wd.stop(t); err != nil {
		t.Errorf("Run after drain: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	wd := start(t, testConfig(t, "fprocess=cat", "max_inflight=1"))
	call(t, "POST", wd.url+"/", "x")
	call(t, "GET", wd.url+"/", "")
	finish := holdRequest(t, wd.url+"/")
	call(t, "POST", wd.url+"/", "x") // 429
	code, _, body := call(t, "GET", wd.metricsURL+"/metrics", "")
	finish()
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`http_requests_total{code="200",method="post"} 1`,
		`http_requests_total{code="200",method="get"} 1`,
		`http_requests_total{code="429",method="post"} 1`,
		`http_request_duration_seconds_bucket{code="200",method="post",le="+Inf"} 1`,
		`http_request_duration_seconds_count{code="200",method="get"} 1`,
		"http_requests_in_flight 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
}

func TestStaticMode(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>hi</h1>"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.js"), []byte("let x"), 0o644)
	wd := start(t, testConfig(t, "mode=static", "static_path="+dir))
	if code, _, body := call(t, "GET", wd.url+"/", ""); code != 200 || body != "<h1>hi</h1>" {
		t.Errorf("/: %d %q", code, body)
	}
	if code, h, body := call(t, "GET", wd.url+"/app.js", ""); code != 200 || body != "let x" || h.Get("X-Duration-Seconds") == "" {
		t.Errorf("/app.js: %d %q %v", code, body, h)
	}
	if code, _, _ := call(t, "GET", wd.url+"/missing", ""); code != 404 {
		t.Errorf("/missing: %d", code)
	}
	if code, _, _ := call(t, "GET", wd.url+"/../../etc/passwd", ""); code == 200 {
		t.Error("path escaped static_path")
	}
}
