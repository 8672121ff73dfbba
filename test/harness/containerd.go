package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// CNIDir is where Debian's containernetworking-plugins install.
const CNIDir = "/usr/lib/cni"

func init() {
	// containerd looks for runc (in /usr/sbin) and its shim on PATH.
	os.Setenv("PATH", os.Getenv("PATH")+":/usr/sbin:/sbin:/usr/bin:/bin")
}

// RequireContainerd skips the test unless it runs as root with Debian's
// containerd, runc, iproute2 and CNI plugins installed.
func RequireContainerd(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to start containerd and create network namespaces")
	}
	for _, bin := range []string{"containerd", "ctr", "runc", "containerd-shim-runc-v2", "ip", "bridge", "iptables"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed: run scripts/install-deps.sh (containerd, runc, iproute2, iptables)", bin)
		}
	}
	for _, p := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join(CNIDir, p)); err != nil {
			t.Skipf("CNI plugin %s/%s missing: run scripts/install-deps.sh (containernetworking-plugins)", CNIDir, p)
		}
	}
}

// Containerd is a containerd daemon a test started, with its own root,
// state and socket (no CRI plugin), stopped when the test ends.
type Containerd struct {
	Sock string
	Log  *LockedBuffer
	cfg  string
	cmd  *exec.Cmd
	exit chan error
}

// StartContainerd starts containerd under dir (keep dir short: socket paths
// are limited to 108 bytes).
func StartContainerd(t testing.TB, dir string) *Containerd {
	t.Helper()
	dir = filepath.Join(dir, "ctd")
	for _, d := range []string{"root", "state", "opt"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o711); err != nil {
			t.Fatal(err)
		}
	}
	c := &Containerd{Sock: filepath.Join(dir, "c.sock"), Log: &LockedBuffer{}, cfg: filepath.Join(dir, "config.toml")}
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.Sock, c.Sock+".ttrpc", filepath.Join(dir, "opt"))
	if err := os.WriteFile(c.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			t.Logf("containerd log (tail):\n%s", c.Tail(40))
		}
	})
	return c
}

func (c *Containerd) start() error {
	c.cmd = exec.Command("containerd", "--config", c.cfg)
	c.cmd.Stderr = c.Log
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		return err
	}
	c.exit = make(chan error, 1)
	go func(cmd *exec.Cmd, exit chan error) { exit <- cmd.Wait() }(c.cmd, c.exit)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-c.exit:
			c.exit <- err
			return fmt.Errorf("containerd exited: %v\n%s", err, c.Tail(40))
		case <-time.After(20 * time.Millisecond):
		}
		if strings.Contains(c.Log.String(), "containerd successfully booted") {
			return nil
		}
	}
	return fmt.Errorf("containerd did not boot in 30s\n%s", c.Tail(40))
}

// Stop ends containerd (SIGTERM, SIGKILL after 15 s). Shims and their
// containers outlive it, as with a real restart.
func (c *Containerd) Stop() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exit:
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-c.exit
	}
	c.cmd = nil
}

// Restart stops containerd and starts it again on the same root.
func (c *Containerd) Restart() error {
	c.Stop()
	c.Log.mu.Lock()
	c.Log.b.Reset()
	c.Log.mu.Unlock()
	return c.start()
}

// Tail is the last n lines of containerd's log.
func (c *Containerd) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(c.Log.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// RemoveBridge deletes a containerd runtime's bridge and its firewall
// chain, which the runtime leaves for its next start.
func RemoveBridge(bridge string) {
	chain := "FERRY-" + bridge
	for _, dir := range []string{"-i", "-o"} {
		for exec.Command("iptables", "-w", "5", "-D", "FORWARD", dir, bridge, "-j", chain).Run() == nil {
		}
	}
	exec.Command("iptables", "-w", "5", "-F", chain).Run()
	exec.Command("iptables", "-w", "5", "-X", chain).Run()
	if out, err := exec.Command("ip", "link", "del", bridge).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find") {
		fmt.Fprintf(os.Stderr, "ip link del %s: %v: %s\n", bridge, err, out)
	}
}
