package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	gocni "github.com/containerd/go-cni"
	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns` looks, so an operator sees replicas'
// namespaces with the usual tool.
const netnsDir = "/var/run/netns"

// networkName is the CNI network's name; host-local keeps its leases in
// StateDir/ipam/<name>.
func (r *Runtime) networkName() string { return "ferry-" + r.cfg.Bridge }

func (r *Runtime) ipamDir() string { return filepath.Join(r.cfg.StateDir, "ipam") }

// setupNetwork loads the bridge network into go-cni and installs the
// firewall chain that keeps replicas apart.
func (r *Runtime) setupNetwork() error {
	for _, p := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join(r.cfg.CNIBinDir, p)); err != nil {
			return fmt.Errorf("CNI plugin %s not found in %s: install containernetworking-plugins", p, r.cfg.CNIBinDir)
		}
	}
	conf, _ := json.Marshal(map[string]any{
		"cniVersion": "0.4.0",
		"name":       r.networkName(),
		"plugins": []any{map[string]any{
			"type":      "bridge",
			"bridge":    r.cfg.Bridge,
			"isGateway": true,
			// NAT only when replicas may leave the host.
			"ipMasq":      r.cfg.Egress,
			"hairpinMode": false,
			"ipam": map[string]any{
				"type":    "host-local",
				"subnet":  r.cfg.Subnet,
				"dataDir": r.ipamDir(),
				"routes":  []any{map[string]string{"dst": "0.0.0.0/0"}},
			},
		}},
	})
	var err error
	r.cni, err = gocni.New(gocni.WithPluginDir([]string{r.cfg.CNIBinDir}), gocni.WithMinNetworkCount(2),
		gocni.WithLoNetwork, gocni.WithConfListBytes(conf))
	if err != nil {
		return fmt.Errorf("CNI configuration: %w", err)
	}
	return r.firewall(true)
}

// chain is this bridge's own iptables chain, jumped to from FORWARD.
func (r *Runtime) chain() string { return "FERRY-" + r.cfg.Bridge }

// firewall installs (or with on=false removes) the forwarding rules:
// routed traffic between two replicas is dropped (a replica with raw
// sockets could otherwise send a frame to the host's MAC and have it
// routed back to a neighbour), and without Egress nothing enters or
// leaves the bridge through the host except replies to the host itself
// (which never cross FORWARD).
func (r *Runtime) firewall(on bool) error {
	br, ch := r.cfg.Bridge, r.chain()
	jumps := [][]string{{"-i", br, "-j", ch}, {"-o", br, "-j", ch}}
	for _, j := range jumps {
		for iptables(append([]string{"-D", "FORWARD"}, j...)...) == nil {
		}
	}
	iptables("-F", ch)
	iptables("-X", ch)
	if !on {
		return nil
	}
	rules := [][]string{{"-i", br, "-o", br, "-j", "DROP"}}
	if r.cfg.Egress {
		rules = append(rules,
			[]string{"-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
			[]string{"-o", br, "-j", "DROP"})
	} else {
		rules = append(rules, []string{"-i", br, "-j", "DROP"}, []string{"-o", br, "-j", "DROP"})
	}
	if err := iptables("-N", ch); err != nil {
		return err
	}
	for _, rule := range rules {
		if err := iptables(append([]string{"-A", ch}, rule...)...); err != nil {
			return err
		}
	}
	for _, j := range jumps {
		if err := iptables(append([]string{"-I", "FORWARD"}, j...)...); err != nil {
			return err
		}
	}
	return nil
}

func iptables(args ...string) error {
	out, err := exec.Command("iptables", append([]string{"-w", "5"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// removeNetwork undoes setupNetwork and deletes the bridge: for tests and
// for an operator leaving the containerd runtime.
func (r *Runtime) removeNetwork() error {
	err := r.firewall(false)
	if out, e := exec.Command("ip", "link", "del", r.cfg.Bridge).CombinedOutput(); e != nil && !strings.Contains(string(out), "Cannot find device") {
		err = errors.Join(err, fmt.Errorf("ip link del %s: %v: %s", r.cfg.Bridge, e, out))
	}
	return err
}

// attach gives the netns its interfaces and returns the replica's IP.
func (r *Runtime) attach(ctx context.Context, id, nsPath string) (net.IP, error) {
	res, err := r.cni.Setup(ctx, id, nsPath)
	if err != nil {
		return nil, fmt.Errorf("CNI setup: %w", err)
	}
	var ip net.IP
	for name, c := range res.Interfaces {
		if c.Sandbox == "" && name != r.cfg.Bridge && name != "lo" && strings.HasPrefix(name, "veth") {
			// No L2 path between two isolated bridge ports.
			if out, err := exec.Command("bridge", "link", "set", "dev", name, "isolated", "on").CombinedOutput(); err != nil {
				return nil, fmt.Errorf("isolating bridge port %s: %v: %s", name, err, out)
			}
		}
		for _, ipc := range c.IPConfigs {
			if c.Sandbox != "" && ipc.IP.To4() != nil && !ipc.IP.IsLoopback() {
				ip = ipc.IP
			}
		}
	}
	if ip == nil {
		return nil, fmt.Errorf("CNI gave the replica no IPv4 address")
	}
	return ip, nil
}

// detach releases the IP lease and removes the interfaces; it is safe on
// a netns that is already gone.
func (r *Runtime) detach(ctx context.Context, id, nsPath string) error {
	return r.cni.Remove(ctx, id, nsPath)
}

// GatewayIPOf is the host's address on the bridge of subnet (a CIDR), as
// GatewayIP says once a Runtime exists: what a listener for replicas binds
// before the bridge is up.
func GatewayIPOf(subnet string) (net.IP, error) {
	_, n, err := net.ParseCIDR(subnet)
	if err != nil || n.IP.To4() == nil {
		return nil, fmt.Errorf("subnet %q is not an IPv4 CIDR", subnet)
	}
	return gatewayIP(n), nil
}

// gatewayIP is the subnet's first address, which host-local gives the
// bridge itself.
func gatewayIP(n *net.IPNet) net.IP {
	ip := n.IP.To4()
	gw := make(net.IP, 4)
	copy(gw, ip)
	gw[3]++
	return gw
}

// newNetns creates a named network namespace as `ip netns add` does: a
// thread unshares, and its namespace is bind-mounted on a file.
func newNetns(name string) (string, error) {
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(netnsDir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return "", fmt.Errorf("netns %s: %w", name, err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it ends with the goroutine, so its
		// changed namespace never serves other goroutines.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare netns: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind netns: %w", err)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

// removeNetns unmounts and deletes a netns file; a missing one is fine.
func removeNetns(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
