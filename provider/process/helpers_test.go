package process

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"github.com/ferryfaas/ferry/test/harness"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/store"
)

// watchdogBin is the real watchdog, built once for the package's tests.
var watchdogBin string

func TestMain(m *testing.M) {
	var err error
	if watchdogBin, err = harness.GoBinary("watchdog", "./cmd/watchdog"); err != nil {
		fmt.Fprintln(os.Stderr, "build the watchdog:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

const ns = api.DefaultNamespace

// env is one provider on a data dir; reopen() closes and opens it again on
// the same store and dir, as a restart of `ferry serve` would.
type env struct {
	t    testing.TB
	dir  string
	st   *store.Store
	p    *Provider
	cfg  Config
	logs *bytes.Buffer
}

func newEnv(t testing.TB, tweak func(*Config)) *env {
	t.Helper()
	// Not t.TempDir: its parent is 0700, which function users could not
	// traverse when tests run as root with isolation.
	dir, err := os.MkdirTemp("", "ferry-process-*")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o711)
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, st: st, logs: &bytes.Buffer{}}
	e.cfg = Config{
		DataDir: dir, Store: st, Watchdog: []string{watchdogBin},
		GatewayURL: "http://127.0.0.1:1", Log: testLogger(),
		BackoffMin: 50 * time.Millisecond, BackoffMax: time.Second, StartTimeout: 20 * time.Second,
	}
	if tweak != nil {
		tweak(&e.cfg)
	}
	e.open()
	t.Cleanup(func() {
		e.close()
		st.Close()
		os.RemoveAll(dir)
	})
	return e
}

func (e *env) open() {
	e.t.Helper()
	p, err := New(context.Background(), e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.p = p
}

func (e *env) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if e.p != nil {
		e.p.Close(ctx)
	}
}

func (e *env) reopen() { e.close(); e.open() }

// deploy fails the test on error.
func (e *env) deploy(d api.FunctionDeployment) {
	e.t.Helper()
	if d.Namespace == "" {
		d.Namespace = ns
	}
	if d.Image == "" {
		d.Image = "example/fn:latest"
	}
	if err := e.p.Deploy(context.Background(), d); err != nil {
		e.t.Fatalf("deploy %s: %v", d.Service, err)
	}
}

// waitRoute follows the route's Changed channels (no polling) until cond
// holds, failing after d.
func (e *env) waitRoute(name string, d time.Duration, what string, cond func(provider.Route) bool) provider.Route {
	e.t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		r, ok := e.p.Route(ns, name)
		if !ok {
			e.t.Fatalf("function %s not found", name)
		}
		if cond(r) {
			return r
		}
		select {
		case <-r.Changed:
		case <-deadline.C:
			st, _ := e.p.Get(context.Background(), ns, name)
			var logs []string
			if ch, err := e.p.Logs(context.Background(), api.LogRequest{Name: name, Namespace: ns, Tail: 20}); err == nil {
				for m := range ch {
					logs = append(logs, m.Instance+": "+m.Text)
				}
			}
			e.t.Fatalf("%s: not reached after %s; route %+v; conditions %+v; last logs:\n%s", what, d, r, st.Conditions, strings.Join(logs, "\n"))
		}
	}
}

func (e *env) waitReady(name string, n int) provider.Route {
	e.t.Helper()
	return e.waitRoute(name, 30*time.Second, fmt.Sprintf("%d ready replicas of %s", n, name), func(r provider.Route) bool {
		return len(r.Endpoints) == n && r.Desired == uint64(n)
	})
}

var client = &http.Client{Timeout: 20 * time.Second}

// invoke POSTs body to one replica and returns status and body.
func invoke(t *testing.T, ep provider.Endpoint, body string) (int, string) {
	t.Helper()
	code, out, err := tryInvoke(ep, body)
	if err != nil {
		t.Fatalf("invoke %s: %v", ep.Address, err)
	}
	return code, out
}

func tryInvoke(ep provider.Endpoint, body string) (int, string, error) {
	res, err := client.Post("http://"+ep.Address+"/", "text/plain", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// pids returns the watchdog pids of a function's live replicas by instance.
func (p *Provider) pids(namespace, name string) map[string]int {
	f := p.lookup(namespace, name)
	out := map[string]int{}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.slots {
		if x, ok := s.rep.(*procReplica); ok && !s.stopping {
			out[s.instance] = x.pid
		}
	}
	return out
}

// cgm is the process runtime's cgroup manager.
func (p *Provider) cgm() *cgroupMgr { return p.rt.(*procRuntime).cg }

// entry is one file of a test archive.
type entry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func targz(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, Size: int64(len(e.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func newGzip(w io.Writer) *gzip.Writer { return gzip.NewWriter(w) }

// testLogger discards, or writes debug logs to stderr with FERRY_TEST_LOG=1.
func testLogger() *slog.Logger {
	if os.Getenv("FERRY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// upstreamWatchdog deploys the watchdog binary as the artifact of an
// http-mode function whose upstream is a second watchdog: an isolated
// replica sees a private /tmp, not the test's build dir there. It returns
// the annotations naming the artifact and the command that runs it.
func upstreamWatchdog(t *testing.T, e *env) (map[string]string, string) {
	t.Helper()
	bin, err := os.ReadFile(watchdogBin)
	if err != nil {
		t.Fatal(err)
	}
	art := targz(t, entry{name: "wd", body: string(bin), mode: 0o755})
	if code, body := upload(t, artifactServer(t, e.p), art, ""); code != 201 {
		t.Fatalf("upload: %d %s", code, body)
	}
	return map[string]string{ArtifactAnnotation: digestOf(art)}, `sh -c 'port=$PORT metrics_port=0 mode=streaming fprocess=cat exec ./wd'`
}
