package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// probeImage builds the probe image under dir (see harness.ProbeImage).
func probeImage(t *testing.T, dir, format, ref string) string {
	t.Helper()
	path, err := harness.ProbeImage(dir, format, ref)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// ask calls the probe function with a query and returns its answer.
func ask(t *testing.T, f *harness.Ferry, name, query string) string {
	t.Helper()
	c, _, body := invoke(t, f, "GET", name+"?"+query, "", nil)
	if c != 200 {
		t.Errorf("%s?%s: %d %s", name, query, c, body)
	}
	return body
}

// dialSubnet has the probe dial port 8080 of the bridge's first addresses
// (where every replica of this test got one) but its own, and returns
// those it reached.
func dialSubnet(t *testing.T, f *harness.Ferry, name, self string) []string {
	var mu sync.Mutex
	var reached []string
	var wg sync.WaitGroup
	for i := 2; i <= 40; i++ {
		addr := fmt.Sprintf("%s%d", ctrdPrefix, i)
		if addr == self {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := ask(t, f, name, "op=dial&addr="+addr+":8080"); r == "ok" {
				mu.Lock()
				reached = append(reached, addr)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return reached
}

// waitAvailable waits until exactly n replicas of name are available.
func waitAvailable(t *testing.T, f *harness.Ferry, name string, n int) {
	t.Helper()
	waitStatus(t, f, name, fmt.Sprintf("%d available replicas", n), func(st fnStatus) bool {
		return st.AvailableReplicas == n && st.Replicas == n
	})
}

// waitEnv waits until the function's status shows env var k=v and all its
// replicas available.
func waitEnv(t *testing.T, f *harness.Ferry, name, k, v string) {
	t.Helper()
	waitStatus(t, f, name, k+"="+v, func(st fnStatus) bool {
		return st.EnvVars[k] == v && st.AvailableReplicas == st.Replicas
	})
}

type fnStatus struct {
	Replicas          int               `json:"replicas"`
	AvailableReplicas int               `json:"availableReplicas"`
	EnvVars           map[string]string `json:"envVars"`
}

func waitStatus(t *testing.T, f *harness.Ferry, name, what string, ok func(fnStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last []byte
	for time.Now().Before(deadline) {
		code, b, err := f.Do("GET", "/system/function/"+name, nil)
		var st fnStatus
		if err == nil && code == 200 && json.Unmarshal(b, &st) == nil && ok(st) {
			return
		}
		last = b
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %s not reached; last status %s", name, what, last)
}

// waitNothingLeft waits until the runtime's containerd namespace holds no
// container nor task and no network namespace of it is left.
func waitNothingLeft(t *testing.T, sock string) {
	t.Helper()
	var left string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		left = ""
		for _, what := range []string{"containers", "tasks"} {
			if ids := ctrList(t, sock, what); len(ids) > 0 {
				left += what + ": " + strings.Join(ids, " ") + "\n"
			}
		}
		if ns := runtimeNetns(); len(ns) > 0 {
			left += "netns: " + strings.Join(ns, " ") + "\n"
		}
		if left == "" {
			return
		}
	}
	t.Errorf("left in containerd namespace %s after removal:\n%s", ctrdNS, left)
}

// ctrList lists the IDs of the runtime's containers or tasks.
func ctrList(t *testing.T, sock, what string) []string {
	t.Helper()
	out, err := exec.Command("ctr", "-a", sock, "-n", ctrdNS, what, "ls", "-q").CombinedOutput()
	if err != nil {
		t.Fatalf("ctr %s ls: %v: %s", what, err, out)
	}
	return strings.Fields(string(out))
}

// runtimeNetns lists the runtime's network namespaces.
func runtimeNetns() []string {
	var out []string
	ents, _ := os.ReadDir("/var/run/netns")
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ctrdNS+"_") {
			out = append(out, e.Name())
		}
	}
	return out
}

// ferryIn returns a runner of the ferry CLI in dir against f's gateway,
// with the Go caches of the test's user and any extra environment.
func ferryIn(t *testing.T, f *harness.Ferry, dir string, env ...string) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(filepath.Join(f.BinDir, "ferry"), args...)
		cmd.Dir = dir
		cmd.Env = append(append(append(os.Environ(), goCacheEnv(t)...),
			"FERRY_URL="+f.URL, "FERRY_USER="+f.User, "FERRY_PASSWORD="+f.Password), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
}
