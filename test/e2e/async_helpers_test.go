package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

var (
	asyncFnOnce sync.Once
	asyncFnPath string
	asyncFnErr  error
)

// asyncFn builds testdata/asyncfn once.
func asyncFn(t testing.TB) string {
	asyncFnOnce.Do(func() {
		dir, err := harness.ReplicaTempDir("ferry-e2e-asyncfn-")
		if err != nil {
			asyncFnErr = err
			return
		}
		asyncFnPath = filepath.Join(dir, "asyncfn")
		cmd := exec.Command("go", "build", "-o", asyncFnPath, "./testdata/asyncfn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			asyncFnErr = fmt.Errorf("build asyncfn: %v: %s", err, out)
		}
	})
	if asyncFnErr != nil {
		t.Fatal(asyncFnErr)
	}
	return asyncFnPath
}

// deployAsyncFn deploys one replica of asyncfn in http mode (the provider
// gives it an upstream port in $upstream_url) and waits until it is ready.
func deployAsyncFn(t testing.TB, f *harness.Ferry, name string, labels map[string]string) {
	t.Helper()
	deploy(t, f, map[string]any{
		"service": name, "image": "e2e/asyncfn", "envProcess": asyncFn(t), "labels": labels,
		"envVars": map[string]string{"mode": "http"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.WaitReady(ctx, name, ns, 1); err != nil {
		t.Fatal(err)
	}
}

// cbServer is a loopback X-Callback-Url receiver that counts call ids.
type cbServer struct {
	srv   *httptest.Server
	URL   string
	mu    sync.Mutex
	seen  map[string]int
	last  map[string]cbCall
	total int
	ch    chan cbCall // every callback, if not full
	want  int
	all   chan struct{} // closed once want distinct ids arrived
}

type cbCall struct {
	Header http.Header
	Body   string
	At     time.Time
}

func newCBServer(t testing.TB, want int) *cbServer {
	c := &cbServer{seen: map[string]int{}, last: map[string]cbCall{}, ch: make(chan cbCall, 1000), want: want, all: make(chan struct{})}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		call := cbCall{Header: r.Header.Clone(), Body: string(b), At: time.Now()}
		id := r.Header.Get("X-Call-Id")
		c.mu.Lock()
		c.seen[id]++
		c.last[id] = call
		c.total++
		if c.want > 0 && len(c.seen) == c.want && c.seen[id] == 1 {
			close(c.all)
		}
		c.mu.Unlock()
		select {
		case c.ch <- call:
		default:
		}
	}))
	c.URL = c.srv.URL + "/cb"
	t.Cleanup(c.srv.Close)
	return c
}

func (c *cbServer) next(t testing.TB, d time.Duration) cbCall {
	t.Helper()
	select {
	case cb := <-c.ch:
		return cb
	case <-time.After(d):
		t.Fatalf("no callback within %v", d)
		return cbCall{}
	}
}

// counts returns distinct ids, total callbacks and ids seen more than once.
func (c *cbServer) counts() (distinct, total, dups int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.seen {
		if n > 1 {
			dups++
		}
	}
	return len(c.seen), c.total, dups
}

// enqueue POSTs (or method) to /async-function/PATH and returns status and call id.
func enqueue(t testing.TB, f *harness.Ferry, method, path, body string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.URL+"/async-function/"+path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("enqueue %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Call-Id")
}

// asyncDataDir is a data dir that replica users can traverse (t.TempDir's
// parent is private to root).
func asyncDataDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "ferry-e2e-async-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o755)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
