// Package containerd_test proves that an image built by `ferry build` (in Go,
// without Docker) runs under a real containerd: Debian's package, started by
// the test with its own root, state and socket, the container in its own
// network namespace on a CNI bridge the test creates and removes.
package containerd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/ferryfaas/ferry/test/harness"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/builder"
	"github.com/ferryfaas/ferry/stack"
	"github.com/ferryfaas/ferry/templates"
)

const (
	// subnet is this test's own bridge network, inside the range set aside
	// for benchmark networks; only its addresses are ever contacted.
	subnet = "198.18.77.0/24"
	ns     = "ferry-test"
)

func TestGoImageRunsUnderContainerd(t *testing.T) {
	harness.RequireContainerd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	work, err := os.MkdirTemp("", "ferry-ctd-") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })

	// Build the image twice from the default golang-http handler.
	wd := buildWatchdog(t, work)
	stackDir := filepath.Join(work, "src")
	tpl, err := templates.Lookup("", "golang-http")
	if err != nil {
		t.Fatal(err)
	}
	if err := templates.Scaffold(tpl, filepath.Join(stackDir, "hello")); err != nil {
		t.Fatal(err)
	}
	var res *builder.Result
	var digests []string
	for i := 0; i < 2; i++ {
		start := time.Now()
		res, err = builder.Build(ctx, builder.Options{
			Function:       stack.Function{Name: "hello", Lang: "golang-http", Handler: "./hello", Image: "ferry-test/hello:1"},
			StackDir:       stackDir,
			OutDir:         filepath.Join(work, fmt.Sprintf("build%d", i)),
			Image:          builder.ImageOptions{Enabled: true, Format: "docker"},
			WatchdogBinary: wd,
		})
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, res.ImageDigest)
		t.Logf("build %d: image %s in %s", i+1, res.ImageDigest, time.Since(start).Round(time.Millisecond))
	}
	if digests[0] != digests[1] {
		t.Fatalf("two builds gave different digests: %v", digests)
	}

	ctr := startContainerd(t, work)
	out := ctr.run(t, "images", "import", res.ImagePath)
	t.Logf("ctr images import: %s", strings.TrimSpace(out))
	image := "docker.io/ferry-test/hello:1"
	if ls := ctr.run(t, "images", "ls", "-q"); !strings.Contains(ls, image) {
		t.Fatalf("image %s not listed after import: %q", image, ls)
	}

	ip := ctr.network(t, work)
	cid := "hello-" + randHex(3)
	start := time.Now()
	ctr.run(t, "run", "-d", "--with-ns", "network:"+ctr.netnsPath, image, cid)
	t.Cleanup(func() {
		ctr.runQuiet("task", "kill", "-s", "SIGKILL", cid)
		ctr.waitTaskGone(cid, 10*time.Second)
		ctr.runQuiet("task", "rm", "-f", cid)
		ctr.runQuiet("container", "rm", cid)
	})

	base := "http://" + ip + ":8080"
	waitHealthy(t, base+"/_/health", 30*time.Second, ctr, cid)
	t.Logf("container healthy %s after `ctr run`", time.Since(start).Round(time.Millisecond))
	body := post(t, base+"/", "containerd")
	if want := templates.ExpectedReply("golang-http", "containerd"); body != want {
		t.Fatalf("function answered %q, want %q", body, want)
	}
	t.Logf("function at %s answered %q", base, body)

	// The OCI-layout form imports under the very digest ferry printed.
	ociRes, err := builder.Build(ctx, builder.Options{
		Function:       stack.Function{Name: "hello", Lang: "golang-http", Handler: "./hello", Image: "ferry-test/hello-oci:1"},
		StackDir:       stackDir,
		OutDir:         filepath.Join(work, "build-oci"),
		Image:          builder.ImageOptions{Enabled: true, Format: "oci"},
		WatchdogBinary: wd,
	})
	if err != nil {
		t.Fatal(err)
	}
	layoutTar := filepath.Join(work, "layout.tar")
	if err := harness.TarDir(ociRes.ImagePath, layoutTar); err != nil {
		t.Fatal(err)
	}
	ctr.run(t, "images", "import", layoutTar)
	ls := ctr.run(t, "images", "ls")
	if !strings.Contains(ls, "ferry-test/hello-oci:1") || !strings.Contains(ls, ociRes.ImageDigest) {
		t.Fatalf("OCI import: want ferry-test/hello-oci:1 at %s in\n%s", ociRes.ImageDigest, ls)
	}
	t.Logf("OCI layout imported as %s", ociRes.ImageDigest)
}

func buildWatchdog(t *testing.T, _ string) string {
	out, err := harness.GoBinary("watchdog", "./cmd/watchdog")
	if err != nil {
		t.Fatalf("building the watchdog: %v", err)
	}
	return out
}

// containerd is the daemon this test started, driven with ctr.
type containerd struct {
	sock      string
	netnsPath string
}

func startContainerd(t *testing.T, work string) *containerd {
	c := &containerd{sock: harness.StartContainerd(t, work).Sock}
	// runc keeps an (emptied) state folder per namespace.
	t.Cleanup(func() { os.Remove("/run/containerd/runc/" + ns) })
	return c
}

func (c *containerd) ctrArgs(args ...string) []string {
	return append([]string{"-a", c.sock, "-n", ns}, args...)
}

func (c *containerd) run(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ctr", c.ctrArgs(args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (c *containerd) runQuiet(args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "ctr", c.ctrArgs(args...)...).CombinedOutput()
	return string(out)
}

// waitTaskGone waits for a killed task to stop (`ctr task ls` shows it
// STOPPED or not at all); ctr offers no event wait that outlives one call.
func (c *containerd) waitTaskGone(cid string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		ls := c.runQuiet("task", "ls")
		running := false
		for _, l := range strings.Split(ls, "\n") {
			f := strings.Fields(l)
			if len(f) >= 3 && f[0] == cid && f[2] != "STOPPED" {
				running = true
			}
		}
		if !running {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// network creates a netns and puts it on a fresh bridge with the CNI
// bridge, host-local and loopback plugins; it returns the container's IP.
func (c *containerd) network(t *testing.T, work string) string {
	id := randHex(3)
	nsName := "ferry-ctd-" + id
	bridge := "ferryt" + id // at most 15 bytes
	if out, err := exec.Command("ip", "netns", "add", nsName).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	c.netnsPath = "/var/run/netns/" + nsName
	bridgeConf := fmt.Sprintf(`{"cniVersion":"0.4.0","name":"ferry-test-%s","type":"bridge","bridge":%q,"isGateway":true,"ipMasq":false,
"ipam":{"type":"host-local","subnet":%q,"dataDir":%q}}`, id, bridge, subnet, filepath.Join(work, "ipam"))
	loConf := `{"cniVersion":"0.4.0","name":"lo","type":"loopback"}`
	t.Cleanup(func() {
		cni("DEL", id, c.netnsPath, "eth0", bridgeConf)
		cni("DEL", id, c.netnsPath, "lo", loConf)
		exec.Command("ip", "link", "del", bridge).Run()
		exec.Command("ip", "netns", "del", nsName).Run()
	})
	if _, err := cni("ADD", id, c.netnsPath, "lo", loConf); err != nil {
		t.Fatal(err)
	}
	out, err := cni("ADD", id, c.netnsPath, "eth0", bridgeConf)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		IPs []struct {
			Address string `json:"address"`
		} `json:"ips"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.IPs) == 0 {
		t.Fatalf("CNI bridge result %s: %v", out, err)
	}
	ip, _, _ := strings.Cut(res.IPs[0].Address, "/")
	if !strings.HasPrefix(ip, "198.18.77.") {
		t.Fatalf("container IP %s is outside the test's subnet %s", ip, subnet)
	}
	t.Logf("netns %s on bridge %s, container IP %s", nsName, bridge, ip)
	return ip
}

// cni calls one CNI plugin the way a runtime does.
func cni(command, id, netns, ifname, conf string) ([]byte, error) {
	var typ struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal([]byte(conf), &typ); err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(harness.CNIDir, typ.Type))
	cmd.Env = append(os.Environ(), "CNI_COMMAND="+command, "CNI_CONTAINERID=ferry-test-"+id,
		"CNI_NETNS="+netns, "CNI_IFNAME="+ifname, "CNI_PATH="+harness.CNIDir)
	cmd.Stdin = strings.NewReader(conf)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("CNI %s %s %s: %v: %s %s", typ.Type, command, ifname, err, stdout.String(), stderr.String())
	}
	return stdout.Bytes(), nil
}

// waitHealthy polls the watchdog's health endpoint: from outside the
// container there is no readiness event to wait on.
func waitHealthy(t *testing.T, url string, limit time.Duration, c *containerd, cid string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not healthy in %s (last: %s); tasks:\n%s", url, limit, last, c.runQuiet("task", "ls"))
}

func post(t *testing.T, url, body string) string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %s %s", url, resp.Status, b)
	}
	return string(b)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
