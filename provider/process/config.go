// Package process is Ferry's provider for one machine without containers:
// every replica of a function is a supervised OS process group running the
// watchdog (cmd/watchdog) on a loopback port, with the function's code in a
// per-function working dir. On Linux the watchdog also serves an abstract
// Unix socket named in the replica's endpoint: the gateway's event loops
// call through it, which skips the TCP/IP stack on both sides. State lives
// in the store so that a restart of `ferry serve` brings every function
// back with its replica count.
//
// When running as root on Linux, each function gets its own unprivileged
// uid/gid, its secrets are bind-mounted at /var/openfaas/secrets by the
// watchdog, and limits.memory/limits.cpu are enforced with cgroups.
// Otherwise the function status carries conditions saying what is not
// enforced.
package process

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/store"
)

// Defaults and floors of what a replica may use.
const (
	// DefaultMemoryBytes: OpenFaaS templates' usual limit is 128Mi; twice
	// that leaves room for a runtime such as Node or Python with a few
	// concurrent forks, while one function still cannot eat the host.
	DefaultMemoryBytes = 256 << 20
	// DefaultPidsMax stops fork bombs while leaving room for a fork-mode
	// function serving many concurrent calls (one process each) and for
	// runtimes with many threads (the JVM, Node's pool): threads count.
	DefaultPidsMax = 512
	// DefaultTmpBytes is the size of each private tmpfs (/tmp, /dev/shm).
	// Its pages are charged to the replica's memory limit too.
	DefaultTmpBytes = 64 << 20
	// MinMemoryBytes is the least memory limit enforced: below it the
	// watchdog (a Go program of a few MiB) cannot start.
	MinMemoryBytes = 16 << 20
)

// Config wires a process provider. DataDir, Store and Watchdog are required
// (Watchdog only for the default runtime).
type Config struct {
	// Runtime runs the replicas; nil is the process runtime (watchdogs as
	// local process groups, see procRuntime).
	Runtime Runtime
	// Runtimes are more runtimes, by name, that a function selects with
	// its RuntimeLabel; the default one (Runtime) is named by its Namer,
	// "process" for the process runtime.
	Runtimes map[string]Runtime
	// DataDir holds artifacts, working dirs, secret copies and logs.
	DataDir string
	Store   *store.Store
	// Watchdog is the argv prefix that runs the watchdog binary.
	Watchdog []string
	// GatewayURL is given to replicas as FERRY_GATEWAY_URL.
	GatewayURL       string
	Log              *slog.Logger
	DefaultNamespace string

	// Optional tuning; zero values take the defaults in withDefaults.

	// MaxArtifactBytes limits an uploaded artifact (default 512 MiB).
	MaxArtifactBytes int64
	// MaxExtractBytes limits the unpacked size of an artifact (default 2 GiB).
	MaxExtractBytes int64
	// LogLines is the in-memory log ring per function (default 5000 lines).
	LogLines int
	// LogFileBytes caps the log files kept per function (default 8 MiB).
	LogFileBytes int64
	// StartTimeout kills a replica that is not ready by then (default 60 s).
	StartTimeout time.Duration
	// BackoffMin and BackoffMax bound the restart delay of a dying replica
	// (defaults 200 ms and 5 min, doubling per crash, as Kubernetes backs
	// off a crash loop); the delay resets once a replica stayed ready for
	// BackoffMax.
	BackoffMin, BackoffMax time.Duration
	// ArtifactGrace is how long an artifact no function uses is kept after
	// its last upload or check (default 1 h); ArtifactGCInterval is how
	// often they are collected (default 10 min).
	ArtifactGrace, ArtifactGCInterval time.Duration
	// NoIsolation turns off per-function users, secret bind mounts and
	// cgroups even when running as root (tests of the unprivileged path).
	NoIsolation bool
	// DefaultTimeout is the limit of a call of a function that sets none
	// (no exec_timeout nor write_timeout): the gateway's default, given to
	// its watchdog, whose own default (10 s) would cut calls short.
	DefaultTimeout time.Duration
	// DefaultMemory is the memory limit of a replica whose function sets
	// none (default DefaultMemoryBytes; negative: none). DefaultPids
	// limits its processes and threads (default DefaultPidsMax; negative:
	// none). Both need cgroups (root on Linux).
	DefaultMemory, DefaultPids int64
	// TmpSize is the size of the private /tmp (also /var/tmp) and of the
	// private /dev/shm of each isolated replica (default DefaultTmpBytes).
	TmpSize int64
	// UIDRegistry records which block of uids each data dir of the machine
	// gives its functions (default DefaultUIDRegistry; see uidblock.go).
	UIDRegistry string
	// uidCount is how many uids of its block the data dir gives (tests;
	// default all of them).
	uidCount int
}

func (c *Config) withDefaults() error {
	if c.DataDir == "" {
		return errors.New("process provider: DataDir is empty: give the data dir of `ferry serve`")
	}
	if c.Store == nil {
		return errors.New("process provider: Store is nil: open the store first (store.Open)")
	}
	if c.Runtime == nil && len(c.Watchdog) == 0 {
		return errors.New("process provider: Watchdog is empty: give the argv that runs the watchdog binary")
	}
	if c.Runtime == nil {
		if _, err := exec.LookPath(c.Watchdog[0]); err != nil {
			return fmt.Errorf("process provider: watchdog %q not found: build it with `go build -o DIR/watchdog ./cmd/watchdog` (%v)", c.Watchdog[0], err)
		}
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	c.DataDir = abs
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.DefaultNamespace == "" {
		c.DefaultNamespace = api.DefaultNamespace
	}
	if c.MaxArtifactBytes <= 0 {
		c.MaxArtifactBytes = 512 << 20
	}
	if c.MaxExtractBytes <= 0 {
		c.MaxExtractBytes = 2 << 30
	}
	if c.LogLines <= 0 {
		c.LogLines = 5000
	}
	if c.LogFileBytes <= 0 {
		c.LogFileBytes = 8 << 20
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 60 * time.Second
	}
	if c.ArtifactGrace <= 0 {
		c.ArtifactGrace = time.Hour
	}
	if c.ArtifactGCInterval <= 0 {
		c.ArtifactGCInterval = 10 * time.Minute
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = 200 * time.Millisecond
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.DefaultMemory == 0 {
		c.DefaultMemory = DefaultMemoryBytes
	}
	if c.DefaultPids == 0 {
		c.DefaultPids = DefaultPidsMax
	}
	if c.TmpSize <= 0 {
		c.TmpSize = DefaultTmpBytes
	}
	if c.UIDRegistry == "" {
		c.UIDRegistry = DefaultUIDRegistry
	}
	return nil
}

// New opens the provider, restores every stored function and starts its
// stored replica count. ctx only bounds the restore; replicas live until
// Close.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	closeInheritedOnExec()
	p := &Provider{
		cfg:      cfg,
		st:       cfg.Store,
		log:      cfg.Log,
		fns:      map[string]map[string]*function{},
		cleaning: map[string]chan struct{}{},
		gcStop:   make(chan struct{}),
		gcDone:   make(chan struct{}),
		now:      time.Now,
	}
	p.killCtx, p.killNow = context.WithCancel(context.Background())
	var cg *cgroupMgr
	p.isolate = !cfg.NoIsolation && os.Geteuid() == 0 && isLinux
	sum := sha256.Sum256([]byte(cfg.DataDir))
	p.dirID = hex.EncodeToString(sum[:6])
	if p.isolate {
		base, err := claimUIDBlock(cfg.UIDRegistry, cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("process provider: %w (functions need uids no other Ferry server gives)", err)
		}
		p.uidBase = base
		cg = detectCgroups()
		cg.base = "ferry/" + p.dirID
	} else {
		p.noIsolation = "ferry is not running as root on Linux"
		if cfg.NoIsolation {
			p.noIsolation = "isolation is turned off in ferry's configuration"
		}
		cg = &cgroupMgr{reason: p.noIsolation + ", so it cannot create cgroups"}
	}
	for _, d := range []string{p.path("artifacts", "sha256"), p.path("artifacts", "tmp"), p.path("logs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("process provider: %w", err)
		}
	}
	for _, d := range []string{p.path("functions"), p.path("run")} {
		// 0700: a replica reaches its own code, tmp and secrets dirs only
		// through the watchdog's bind mounts (/home/app,
		// /var/openfaas/tmp, /var/openfaas/secrets), never by their path
		// here, where it could otherwise plant links in the dirs it owns
		// for ferry to meet. (They were 0711 before, for functions that used their host path.)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("process provider: %w", err)
		}
		os.Chmod(d, 0o700)
	}
	p.rt = cfg.Runtime
	if p.rt == nil {
		if n := cg.reapStale(); n > 0 {
			p.log.Warn("killed processes left by a previous run", "count", n)
		}
		p.rt = &procRuntime{p: p, cg: cg}
	}
	if len(cfg.Runtimes) > 0 {
		def := runtimeName(p.rt)
		by := maps.Clone(cfg.Runtimes)
		by[def] = p.rt
		p.rt = &runtimes{def: def, by: by}
	}
	if err := p.ensureDefaultNamespace(); err != nil {
		return nil, err
	}
	if err := p.restore(ctx); err != nil {
		close(p.gcDone) // no collector was started
		p.Close(context.Background())
		return nil, err
	}
	go p.runArtifactGC()
	return p, nil
}
