//go:build linux

// Package ctrd links the containerd runtime into a ferry binary:
// cmd/ferry-containerd imports it, and the default ferry hands
// `ferry serve --runtime containerd` over to that binary, so that the
// default one does not carry containerd's client.
package ctrd

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ferryfaas/ferry/cli"
	"github.com/ferryfaas/ferry/provider/containerd"
	"github.com/ferryfaas/ferry/provider/containerdrt"
	"github.com/ferryfaas/ferry/provider/process"
)

// Image garbage collection, as for artifacts: an image no function uses
// is removed once it was not imported or pulled for imageGrace.
const (
	imageGCInterval = 10 * time.Minute
	imageGrace      = time.Hour
)

// useContainerd makes cfg run replicas as containers: it connects to
// containerd, mounts POST /system/images, collects unused images and makes
// the gateway listen on the bridge so replicas reach FERRY_GATEWAY_URL.
func init() { cli.ContainerdRuntime = useContainerd }

func useContainerd(ctx context.Context, c cli.ContainerdSettings, s *cli.Server, cfg *process.Config) error {
	gwIP, err := containerd.GatewayIPOf(c.Subnet)
	if err != nil {
		return fmt.Errorf("--containerd-subnet: %w", err)
	}
	_, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return err
	}
	gwAddr := net.JoinHostPort(gwIP.String(), port)
	crt, err := containerd.New(ctx, containerd.Config{
		Address: c.Address, Namespace: c.Namespace, StateDir: filepath.Join(s.DataDir, "containerd"),
		Subnet: c.Subnet, Bridge: c.Bridge, GatewayURL: "http://" + gwAddr,
		InsecureRegistries: c.InsecureRegistries,
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
	s.AddSystemRoutes(containerdrt.ImageRoutes(crt))
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
