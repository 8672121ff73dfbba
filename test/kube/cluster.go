// Package kube starts a real single-node Kubernetes cluster on this machine
// for Ferry's end-to-end tests: etcd, kube-apiserver, controller-manager,
// scheduler (built from k8s.io/kubernetes by build.sh, cached by version),
// Debian's containerd with its CRI plugin, the kubelet, kube-proxy
// (iptables mode) and CoreDNS, so Services, ClusterIPs and *.svc names work
// as in any cluster; then tears it all down (processes, containers, mounts,
// bridge, netns, iptables, routes, sysctls) when done. The Service CIDR is
// routed to the harness's own bridge: kube-proxy's DNAT turns a ClusterIP
// into a pod IP there, and a ClusterIP with no rule dies there, so no
// packet to a ClusterIP can leave the machine.
package kube

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Versions of the binaries the harness uses (build.sh builds the same).
const (
	Version        = "v1.37.2"
	CoreDNSVersion = "v1.15.0"
	HelmVersion    = "v4.3.2"
)

const (
	serviceCIDR = "198.19.0.0/16"
	podCIDR     = "198.18.244.0/24"
	bridgeName  = "ferrykube0"
	// bridgeIP is the node's address on its own bridge (the pods' gateway).
	// The API server and CoreDNS listen on it, so pods reach them through
	// the kubernetes and kube-dns Services without any port on eth0.
	bridgeIP   = "198.18.244.1"
	dnsIP      = "198.19.0.10" // ClusterIP of kube-dns
	pauseImage = "ferry.local/pause:1"
)

// Cluster is a running single-node cluster.
type Cluster struct {
	Dir        string // work dir (logs in Dir/logs)
	Kubeconfig string
	APIServer  string // https://198.18.244.1:PORT (the bridge's address)
	Token      string
	NodeIP     string
	CtrSocket  string // containerd socket (namespace k8s.io holds pod images)

	bin     string
	procs   []*proc
	undo    []func() // teardown steps, run in reverse
	logf    func(string, ...any)
	apiProc *proc
	apiArgs []string
	before  *Snapshot
	stopped bool
	logDir  string // Dir/logs, then KeptLogs after Stop

	containerIDs []string // sandboxes and containers alive at Stop
}

// Options for Start.
type Options struct {
	// Logf receives progress lines (nil: silent).
	Logf func(string, ...any)
}

// BinDir is where build.sh caches the binaries for Version.
func BinDir() string { return filepath.Join(cacheDir(), Version) }

// CoreDNSBin and HelmBin are where build.sh caches CoreDNS and helm.
func CoreDNSBin() string { return filepath.Join(cacheDir(), "coredns", CoreDNSVersion, "coredns") }

// HelmBin is the helm that build.sh builds from helm.sh/helm/v4.
func HelmBin() string { return filepath.Join(cacheDir(), "helm", HelmVersion, "helm") }

func cacheDir() string {
	if d := os.Getenv("FERRY_KUBE_CACHE"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "ferry", "kube")
}

// Available says why the cluster cannot start here, or "" when it can.
func Available() string {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		return "the test cluster needs root on Linux"
	}
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl", "../coredns/" + CoreDNSVersion + "/coredns"} {
		if _, err := os.Stat(filepath.Join(BinDir(), b)); err != nil {
			return "Kubernetes binaries not built: run test/kube/build.sh (" + err.Error() + ")"
		}
	}
	for _, b := range []string{"etcd", "containerd", "ctr", "runc", "iptables-save"} {
		if _, err := exec.LookPath(b); err != nil {
			return b + " not installed: run scripts/install-deps.sh"
		}
	}
	return ""
}

// Start brings the cluster up and returns once the node is Ready. On error
// everything started so far is torn down.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if why := Available(); why != "" {
		return nil, errors.New(why)
	}
	dir, err := os.MkdirTemp("", "fk-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: BinDir(), logf: opts.Logf}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	ok := false
	defer func() {
		if !ok {
			c.Stop()
		}
	}()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	if err := c.hostSetup(); err != nil {
		return nil, err
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"etcd", c.startEtcd},
		{"kube-apiserver", c.startAPIServer},
		{"controllers", c.startControllers},
		{"containerd", c.startContainerd},
		{"kubelet", c.startKubelet},
		{"kube-proxy", c.startKubeProxy},
		{"coredns", c.startDNS},
	}
	for _, s := range steps {
		t0 := time.Now()
		if err := s.fn(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		c.logf("kube: %s up in %s", s.name, time.Since(t0).Round(time.Millisecond))
	}
	ok = true
	return c, nil
}

// Stop tears everything down: the kubelet first (so nothing restarts pods),
// then every container and shim, the other daemons, mounts, and finally
// the host changes (route, iptables, sysctls, netns, bridge, CNI leases,
// pod logs, cgroups). It is safe to call twice.
func (c *Cluster) Stop() {
	if c.stopped {
		return
	}
	c.stopped = true
	for _, p := range c.procs {
		if p.name == "kubelet" {
			p.stop(10 * time.Second)
		}
	}
	if c.CtrSocket != "" {
		c.killContainers()
	}
	// The cluster's data is thrown away: no daemon needs a long graceful
	// shutdown (the API server would wait ~10 s for its watches).
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(2 * time.Second)
	}
	c.procs = nil
	killProcsMentioning(c.Dir) // shims are not children of containerd's process group
	c.unmountAll()
	if c.before != nil {
		restoreHost(c.before)
	}
	// Sandboxes killed without the CRI's StopPodSandbox leave their CNI
	// results (the loopback network's among them) behind.
	for _, f := range cniResultsOf(c.containerIDs) {
		os.Remove(f)
	}
	for i := len(c.undo) - 1; i >= 0; i-- {
		c.undo[i]()
	}
	c.undo = nil
	// Keep the daemons' logs for a look after a failed run.
	os.RemoveAll(KeptLogs())
	if os.Rename(filepath.Join(c.Dir, "logs"), KeptLogs()) == nil {
		c.logDir = KeptLogs()
	}
	os.RemoveAll(c.Dir)
}

// KeptLogs is where Stop leaves the daemons' logs of the last cluster.
func KeptLogs() string { return filepath.Join(os.TempDir(), "ferry-kube-logs") }

// Leftovers lists what Stop failed to undo (empty after a clean teardown).
func (c *Cluster) Leftovers() []string {
	if c.before == nil {
		return nil
	}
	left := c.before.Leftovers(c.Dir)
	for _, f := range cniResultsOf(c.containerIDs) {
		left = append(left, "CNI result "+f)
	}
	return left
}

// onStop registers a teardown step.
func (c *Cluster) onStop(f func()) { c.undo = append(c.undo, f) }

// hostSetup snapshots what the cluster may change on the host, makes the
// bridge (before the CNI plugin would, so the API server can listen on it)
// and routes the Service CIDR to it: a ClusterIP must never be routed out
// of the machine.
func (c *Cluster) hostSetup() error {
	if out, _ := exec.Command("ip", "link", "show", bridgeName).CombinedOutput(); !strings.Contains(string(out), "does not exist") {
		return fmt.Errorf("bridge %s exists: another test cluster is running, or one was not torn down (ip link del %s)", bridgeName, bridgeName)
	}
	c.before = TakeSnapshot()
	for _, args := range [][]string{
		{"link", "add", bridgeName, "type", "bridge"},
		{"addr", "add", bridgeIP + "/24", "dev", bridgeName},
		{"link", "set", bridgeName, "up"},
		{"route", "add", serviceCIDR, "dev", bridgeName},
	} {
		if _, err := run("ip", args...); err != nil {
			return fmt.Errorf("%w (is another test cluster running?)", err)
		}
	}
	c.onStop(func() { run("ip", "route", "del", serviceCIDR, "dev", bridgeName) })
	out, err := run("ip", "-4", "-o", "addr", "show", "scope", "global")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[1] != bridgeName && !strings.HasPrefix(f[1], "veth") && !strings.HasPrefix(f[1], "cni") {
			c.NodeIP = strings.Split(f[3], "/")[0]
			break
		}
	}
	if c.NodeIP == "" {
		return errors.New("no global IPv4 address for the node")
	}
	return nil
}

// unmountAll lazily unmounts whatever is still mounted below the work dir
// (pod volumes, overlay snapshots, sandbox shm), deepest first.
func (c *Cluster) unmountAll() {
	mps := mountsBelow(c.Dir)
	sort.Sort(sort.Reverse(sort.StringSlice(mps)))
	for _, mp := range mps {
		syscall.Unmount(mp, syscall.MNT_DETACH)
	}
}

func (c *Cluster) startEtcd(ctx context.Context) error {
	cp, _ := freePort()
	pp, _ := freePort()
	client := fmt.Sprintf("http://127.0.0.1:%d", cp)
	peer := fmt.Sprintf("http://127.0.0.1:%d", pp)
	p, err := c.start("etcd", "etcd", "--data-dir", filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "default="+peer, "--unsafe-no-fsync")
	if err != nil {
		return err
	}
	c.apiArgs = append(c.apiArgs, "--etcd-servers="+client)
	return c.waitFor(ctx, p, "etcd health", 30*time.Second, func() error { return httpOK(client + "/health") })
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	pki := filepath.Join(c.Dir, "pki")
	os.MkdirAll(pki, 0o700)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	writeFile(filepath.Join(pki, "sa.key"), string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	writeFile(filepath.Join(pki, "sa.pub"), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})))
	tok := make([]byte, 16)
	rand.Read(tok)
	c.Token = hex.EncodeToString(tok)
	writeFile(filepath.Join(pki, "tokens.csv"), c.Token+",admin,admin,system:masters\n")
	port, _ := freePort()
	c.APIServer = fmt.Sprintf("https://%s:%d", bridgeIP, port)
	args := append(c.apiArgs,
		// On the bridge, the default endpoint reconciler points the
		// kubernetes Service at it: pods use the API like in any cluster.
		"--bind-address="+bridgeIP, "--advertise-address="+bridgeIP, fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir="+pki, "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(pki, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range="+serviceCIDR, "--token-auth-file="+filepath.Join(pki, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--kubelet-preferred-address-types=InternalIP", "--allow-privileged=true")
	c.apiArgs = args
	p, err := c.start("kube-apiserver", filepath.Join(c.bin, "kube-apiserver"), args...)
	if err != nil {
		return err
	}
	c.apiProc = p
	c.Kubeconfig, err = c.KubeconfigFor("admin", c.Token)
	if err != nil {
		return err
	}
	return c.waitFor(ctx, p, "kube-apiserver /readyz", 90*time.Second, c.apiReady)
}

// KubeconfigFor writes a kubeconfig for the cluster with a bearer token.
func (c *Cluster) KubeconfigFor(user, token string) (string, error) {
	path := filepath.Join(c.Dir, "kubeconfig-"+user)
	return path, writeFile(path, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: ferry
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: %q}
contexts:
- name: ferry
  context: {cluster: ferry, user: admin}
current-context: ferry
`, c.APIServer, token))
}

func (c *Cluster) apiReady() error {
	req, _ := http.NewRequest("GET", c.APIServer+"/readyz", nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("readyz %d", resp.StatusCode)
	}
	return nil
}

// StopAPIServer and StartAPIServer simulate the API server going away and
// coming back (same port, same etcd).
func (c *Cluster) StopAPIServer() { c.apiProc.stop(10 * time.Second) }

// StartAPIServer restarts a stopped API server and waits until it is ready.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	p, err := c.start("kube-apiserver", filepath.Join(c.bin, "kube-apiserver"), c.apiArgs...)
	if err != nil {
		return err
	}
	c.apiProc = p
	return c.waitFor(ctx, p, "kube-apiserver /readyz", 90*time.Second, c.apiReady)
}

func (c *Cluster) startControllers(ctx context.Context) error {
	pki := filepath.Join(c.Dir, "pki")
	cmPort, _ := freePort()
	schedPort, _ := freePort()
	if _, err := c.start("kube-controller-manager", filepath.Join(c.bin, "kube-controller-manager"),
		"--kubeconfig="+c.Kubeconfig, "--service-account-private-key-file="+filepath.Join(pki, "sa.key"),
		"--root-ca-file="+filepath.Join(pki, "apiserver.crt"), "--service-cluster-ip-range="+serviceCIDR,
		"--leader-elect=false", "--controllers=*", "--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", cmPort),
		"--use-service-account-credentials=false"); err != nil {
		return err
	}
	_, err := c.start("kube-scheduler", filepath.Join(c.bin, "kube-scheduler"),
		"--kubeconfig="+c.Kubeconfig, "--leader-elect=false", "--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", schedPort))
	return err
}
