package containerd

import (
	"context"
	"errors"
	"fmt"
	"github.com/ferryfaas/ferry/provider/containerd/defaults"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	ctd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	gocni "github.com/containerd/go-cni"
)

// Config says which containerd to use and how replicas are networked and
// limited. Zero values take the defaults below.
type Config struct {
	// Address is containerd's socket (/run/containerd/containerd.sock).
	Address string
	// Namespace is the containerd namespace this runtime owns alone: New
	// removes what it finds there that no live runtime started.
	Namespace string
	// StateDir holds IP leases, secrets copies and stdio FIFOs.
	StateDir string
	// Subnet is the bridge's CIDR; Bridge its name (at most 15 bytes).
	Subnet, Bridge string
	// CNIBinDir holds the bridge, host-local and loopback plugins.
	CNIBinDir string
	// Egress lets replicas reach beyond this host (NAT); off by default so
	// a function talks only to the gateway on the host.
	Egress bool
	// DefaultMemory and DefaultPids apply when a replica asks for none.
	DefaultMemory, DefaultPids int64
	// TmpSize bounds each replica's /tmp (bytes).
	TmpSize int64
	// GatewayURL is given to replicas as FERRY_GATEWAY_URL; it must name an
	// address reachable from the bridge (see GatewayIP).
	GatewayURL string
	// InsecureRegistries may be pulled from over plain HTTP (host or
	// host:port); loopback registries always may, as Docker does.
	InsecureRegistries []string
	// Snapshotter is containerd's snapshotter (overlayfs).
	Snapshotter string
}

// Defaults for users; tests pass subnets inside 198.18.0.0/15.
const (
	DefaultAddress   = defaults.Address
	DefaultNamespace = defaults.Namespace
	DefaultSubnet    = defaults.Subnet
	DefaultBridge    = defaults.Bridge
	DefaultCNIBinDir = "/usr/lib/cni"
	DefaultStateDir  = "/var/lib/ferry/containerd"
	DefaultMemory    = 256 << 20
	DefaultPids      = 256
	DefaultTmpSize   = 64 << 20
	// nobodyID runs images whose user is root: an unprivileged uid that
	// owns nothing in the image.
	nobodyID = 65534
)

func (c *Config) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Address, DefaultAddress)
	def(&c.Namespace, DefaultNamespace)
	def(&c.Subnet, DefaultSubnet)
	def(&c.Bridge, DefaultBridge)
	def(&c.CNIBinDir, DefaultCNIBinDir)
	def(&c.StateDir, DefaultStateDir)
	def(&c.Snapshotter, "overlayfs")
	if c.DefaultMemory == 0 {
		c.DefaultMemory = DefaultMemory
	}
	if c.DefaultPids == 0 {
		c.DefaultPids = DefaultPids
	}
	if c.TmpSize == 0 {
		c.TmpSize = DefaultTmpSize
	}
}

// Runtime starts replicas under one containerd namespace. It is safe for
// concurrent use.
type Runtime struct {
	cfg    Config
	client *ctd.Client
	cni    gocni.CNI
	gwIP   net.IP
	// unpacked holds the image digests known to be unpacked.
	unpacked  sync.Map
	closed    chan struct{}
	closeOnce sync.Once
}

// New connects to containerd, creates the namespace, the bridge's CNI
// configuration and firewall rules, and removes every replica a previous
// runtime left in the namespace (a kill -9 of ferry): the provider starts
// its replicas again.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg.setDefaults()
	if len(cfg.Bridge) > 15 {
		return nil, fmt.Errorf("bridge name %q is longer than 15 bytes", cfg.Bridge)
	}
	_, subnet, err := net.ParseCIDR(cfg.Subnet)
	if err != nil || subnet.IP.To4() == nil {
		return nil, fmt.Errorf("subnet %q is not an IPv4 CIDR", cfg.Subnet)
	}
	for _, d := range []string{cfg.StateDir, filepath.Join(cfg.StateDir, "secrets"), filepath.Join(cfg.StateDir, "fifo")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(cfg.Address); err != nil {
		return nil, fmt.Errorf("containerd socket %s: %w (is containerd running? set --containerd-address)", cfg.Address, err)
	}
	client, err := ctd.New(cfg.Address, ctd.WithDefaultNamespace(cfg.Namespace), ctd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", cfg.Address, err)
	}
	r := &Runtime{cfg: cfg, client: client, gwIP: gatewayIP(subnet), closed: make(chan struct{})}
	ctx = r.ns(ctx)
	if err := client.NamespaceService().Create(ctx, cfg.Namespace, map[string]string{"ferry": "runtime"}); err != nil && !isExists(err) {
		client.Close()
		return nil, fmt.Errorf("create containerd namespace %s: %w", cfg.Namespace, err)
	}
	if err := r.setupNetwork(); err != nil {
		client.Close()
		return nil, err
	}
	if err := r.Reap(ctx, nil); err != nil {
		client.Close()
		return nil, fmt.Errorf("removing replicas left by a previous run: %w", err)
	}
	// No replica is left, so no FIFO is in use: a killed Ferry's go.
	if err := clearDir(r.fifoDir(), nil); err != nil {
		client.Close()
		return nil, err
	}
	return r, nil
}

func (r *Runtime) fifoDir() string { return filepath.Join(r.cfg.StateDir, "fifo") }

// clearDir removes a directory's entries that keep (nil: none) does not
// claim.
func clearDir(dir string, keep func(name string) bool) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if keep == nil || !keep(e.Name()) {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// GatewayIP is the host's address on the bridge: what replicas reach the
// host (and a gateway listening there) by.
func (r *Runtime) GatewayIP() net.IP { return r.gwIP }

// Close disconnects from containerd. Running replicas are not stopped (the
// next New removes them); their Done channels close, with an error saying
// the runtime was closed.
func (r *Runtime) Close() error {
	r.closeOnce.Do(func() { close(r.closed) })
	return r.client.Close()
}

// ns puts the runtime's containerd namespace on ctx.
func (r *Runtime) ns(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.cfg.Namespace)
}

// containerID names a replica's container (and its snapshot, netns, IP
// lease and secrets copy): containerd IDs allow letters, digits and . _ -.
func containerID(namespace, instance string) (string, error) {
	if namespace == "" {
		namespace = "default"
	}
	id := namespace + "." + instance
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-", c)) {
			return "", fmt.Errorf("instance %q in namespace %q: only letters, digits, '.', '_' and '-' are allowed", instance, namespace)
		}
	}
	if instance == "" || len(id) > 76 {
		return "", fmt.Errorf("instance %q: must be 1 to %d bytes with its namespace", instance, 76-len(namespace)-1)
	}
	return id, nil
}

// Err of a replica that ended because it was asked to: by Stop, or by
// closing its Runtime (its container is then left for the next New).
var (
	ErrStopped = errors.New("replica stopped")
	ErrClosed  = errors.New("runtime closed; the replica is left to the next New")
)

func isExists(err error) bool { return errdefs.IsAlreadyExists(err) }
