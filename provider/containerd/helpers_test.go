package containerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/snapshots"

	"github.com/ferryfaas/ferry/test/harness"
)

// probeRef is the test image: a golang-http function (testdata/probe)
// that reports what its container allows.
const probeRef = "docker.io/ferry-test/probe:1"

var probe struct {
	once sync.Once
	dir  string
	path string // docker archive
	oci  string // OCI layout, packed as tar
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if probe.dir != "" {
		os.RemoveAll(probe.dir)
	}
	os.Exit(code)
}

// probeImage builds the probe image once per test binary with builder/,
// as `ferry build --image` does.
func probeImage(t *testing.T) string {
	t.Helper()
	probe.once.Do(func() {
		t0 := time.Now()
		defer func() { t.Logf("probe image built in %s", time.Since(t0).Round(time.Millisecond)) }()
		dir, err := os.MkdirTemp("", "ferry-probe-")
		if err != nil {
			probe.err = err
			return
		}
		probe.dir = dir
		if probe.path, probe.err = harness.ProbeImage(dir, "docker", "ferry-test/probe:1"); probe.err != nil {
			return
		}
		layout, err := harness.ProbeImage(dir, "oci", "ferry-test/probe-oci:1")
		if err == nil {
			probe.oci = filepath.Join(dir, "probe-oci.tar")
			err = harness.TarDir(layout, probe.oci)
		}
		probe.err = err
	})
	if probe.err != nil {
		t.Fatalf("building the probe image: %v", probe.err)
	}
	return probe.path
}

// env is one test's containerd, runtime and network.
type env struct {
	ctd  *harness.Containerd
	cfg  Config
	rt   *Runtime
	work string
}

// newEnv starts containerd and a Runtime on a bridge of its own inside
// 198.18.0.0/15 (octet picks the /24), removed when the test ends.
func newEnv(t *testing.T, octet int) *env {
	t.Helper()
	harness.RequireContainerd(t)
	work, err := os.MkdirTemp("", "ferry-crt-") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	e := &env{work: work, ctd: harness.StartContainerd(t, work)}
	e.cfg = Config{
		Address: e.ctd.Sock,
		// Unique: runc keeps its state per containerd namespace under
		// /run/containerd/runc, shared by every containerd on the machine.
		Namespace:     "ferry-test-" + randHex(3),
		StateDir:      filepath.Join(work, "state"),
		Subnet:        fmt.Sprintf("198.18.%d.0/24", octet),
		Bridge:        "ferryt" + randHex(3),
		DefaultMemory: 64 << 20,
		DefaultPids:   64,
		TmpSize:       1 << 20,
	}
	e.cfg.GatewayURL = fmt.Sprintf("http://198.18.%d.1:8080", octet)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if e.rt, err = New(ctx, e.cfg); err != nil {
		t.Fatal(err)
	}
	rt := e.rt
	t.Cleanup(func() {
		// Registered after containerd's: runs before it stops.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.rt.Reap(ctx, nil); err != nil {
			t.Errorf("final reap: %v", err)
		}
		if err := rt.removeNetwork(); err != nil {
			t.Errorf("removing the test network: %v", err)
		}
		e.rt.Close()
		os.RemoveAll(work)
		// containerd leaves the namespace's parent cgroups; empty ones go.
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + e.cfg.Namespace)
		// and runc its state folder for the namespace.
		for _, d := range append(dirs, "/sys/fs/cgroup/"+e.cfg.Namespace, "/run/containerd/runc/"+e.cfg.Namespace) {
			os.Remove(d)
		}
	})
	return e
}

// importProbe imports the probe image and checks its reference.
func (e *env) importProbe(t *testing.T) {
	t.Helper()
	f, err := os.Open(probeImage(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	refs, err := e.rt.Import(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0] != probeRef {
		t.Fatalf("imported %v, want [%s]", refs, probeRef)
	}
}

// start starts a replica of the probe and waits until it is ready.
func (e *env) start(t *testing.T, s ReplicaSpec) *Replica {
	t.Helper()
	if s.Image == "" {
		s.Image = "ferry-test/probe:1"
	}
	if s.Function == "" {
		s.Function = "probe"
	}
	if s.Namespace == "" {
		s.Namespace = "fn"
	}
	var out harness.LockedBuffer
	if s.Stdout == nil {
		s.Stdout, s.Stderr = &out, &out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	x, err := e.rt.Start(ctx, s)
	if err != nil {
		t.Fatalf("start %s: %v", s.Instance, err)
	}
	t.Cleanup(func() { x.Stop(context.Background(), time.Second) })
	select {
	case <-x.Ready():
	case <-x.Done():
		t.Fatalf("%s exited before ready: %v", s.Instance, x.Err())
	case <-ctx.Done():
		t.Fatalf("%s not ready in 30s; output:\n%s", s.Instance, out.String())
	}
	return x
}

// ask runs one probe operation in a replica.
func ask(t *testing.T, x *Replica, query string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + x.Addr() + "/?" + query)
	if err != nil {
		t.Fatalf("%s ?%s: %v", x.ID(), query, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s ?%s: %s %s", x.ID(), query, resp.Status, b)
	}
	return string(b)
}

// leftovers lists what replicas may leave behind: containers, tasks,
// replica snapshots, netns files and IP leases of this runtime.
func (e *env) leftovers(t *testing.T) []string {
	t.Helper()
	ctx := e.rt.ns(context.Background())
	var left []string
	cs, err := e.rt.client.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		left = append(left, "container "+c.ID())
	}
	ts, err := e.rt.client.TaskService().List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range ts.Tasks {
		left = append(left, "task "+tk.ID)
	}
	err = e.rt.client.SnapshotService(e.rt.cfg.Snapshotter).Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		if info.Labels[labelSnapshot] != "" || info.Kind == snapshots.KindActive {
			left = append(left, "snapshot "+info.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("ip", "netns", "list").CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, e.rt.netnsName("")) {
			left = append(left, "netns "+strings.Fields(l)[0])
		}
	}
	leases, _ := os.ReadDir(filepath.Join(e.rt.ipamDir(), e.rt.networkName()))
	for _, l := range leases {
		if !strings.HasPrefix(l.Name(), "last_reserved_ip") && l.Name() != "lock" {
			left = append(left, "IP lease "+l.Name())
		}
	}
	for _, d := range []string{"secrets", "fifo"} {
		ents, _ := os.ReadDir(filepath.Join(e.cfg.StateDir, d))
		for _, s := range ents {
			left = append(left, d+" "+s.Name())
		}
	}
	return left
}

func (e *env) requireClean(t *testing.T) {
	t.Helper()
	if left := e.leftovers(t); len(left) > 0 {
		t.Fatalf("left behind: %s", strings.Join(left, ", "))
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
