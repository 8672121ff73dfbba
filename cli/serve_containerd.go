//go:build linux

package cli

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ferryfaas/ferry/provider/containerd"
	"github.com/ferryfaas/ferry/provider/containerdrt"
	"github.com/ferryfaas/ferry/provider/process"
	"github.com/spf13/pflag"
)

// containerdFlags configure `ferry serve --runtime containerd`.
type containerdFlags struct {
	runtime, address, namespace, subnet, bridge string
	insecure                                    []string
}

func (f *containerdFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.runtime, "runtime", envOr("FERRY_RUNTIME", "process"), "process provider: how replicas run by default: process (trusted code, fastest), containerd (images, isolation; needs root) or wasm (WebAssembly modules) (env FERRY_RUNTIME)")
	fs.StringVar(&f.address, "containerd-address", containerd.DefaultAddress, "containerd runtime: containerd's socket")
	fs.StringVar(&f.namespace, "containerd-namespace", containerd.DefaultNamespace, "containerd runtime: containerd namespace Ferry owns alone (what it finds there on start and did not start is removed)")
	fs.StringVar(&f.subnet, "containerd-subnet", containerd.DefaultSubnet, "containerd runtime: IPv4 subnet of the replicas' bridge (the gateway also listens on its first address)")
	fs.StringVar(&f.bridge, "containerd-bridge", containerd.DefaultBridge, "containerd runtime: name of the replicas' bridge (at most 15 bytes)")
	fs.StringSliceVar(&f.insecure, "insecure-registry", nil, "containerd runtime: registry (host or host:port) pulled from over plain HTTP; registries on loopback always are")
}

// Image garbage collection, as for artifacts: an image no function uses
// is removed once it was not imported or pulled for imageGrace.
const (
	imageGCInterval = 10 * time.Minute
	imageGrace      = time.Hour
)

// useContainerd makes cfg run replicas as containers: it connects to
// containerd, mounts POST /system/images, collects unused images and makes
// the gateway listen on the bridge so replicas reach FERRY_GATEWAY_URL.
func useContainerd(ctx context.Context, f serveFlags, s *Server, cfg *process.Config) error {
	gwIP, err := containerd.GatewayIPOf(f.ctrd.subnet)
	if err != nil {
		return fmt.Errorf("--containerd-subnet: %w", err)
	}
	_, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return err
	}
	gwAddr := net.JoinHostPort(gwIP.String(), port)
	crt, err := containerd.New(ctx, containerd.Config{
		Address: f.ctrd.address, Namespace: f.ctrd.namespace, StateDir: filepath.Join(s.DataDir, "containerd"),
		Subnet: f.ctrd.subnet, Bridge: f.ctrd.bridge, GatewayURL: "http://" + gwAddr,
		InsecureRegistries: f.ctrd.insecure,
		DefaultMemory:      cfg.DefaultMemory, DefaultPids: cfg.DefaultPids, TmpSize: cfg.TmpSize,
	})
	if err != nil {
		return err
	}
	// The bridge comes up with the first replica: bind its address ahead.
	ln, err := (&net.ListenConfig{Control: freeBind}).Listen(ctx, "tcp4", gwAddr)
	if err != nil {
		crt.Close()
		return fmt.Errorf("listen on the containers' bridge at %s: %w (choose another --containerd-subnet)", gwAddr, err)
	}
	s.ExtraListeners = append(s.ExtraListeners, ln)
	cfg.Runtime = &containerdrt.Runtime{R: crt, Pull: containerdrt.PullIfMissing(crt, func(ns, name string) ([]byte, error) {
		return process.SecretValue(s.Store, ns, name)
	})}
	s.systemRoutes = containerdrt.ImageRoutes(crt)
	s.OnStart = append(s.OnStart, func(ctx context.Context) error {
		go containerdrt.ImageGC(ctx, crt, s.Provider, imageGCInterval, imageGrace, s.Log)
		return nil
	})
	return nil
}

// freeBind lets a socket bind an address no interface has yet.
func freeBind(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_IP, syscall.IP_FREEBIND, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
