package cli

import (
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

// connFlags bound what a caller's connection may hold: slow or silent
// callers, and oversized bodies.
type connFlags struct {
	head, idle, body time.Duration
	maxConns         int
	maxInvokeBody    int64
	// How calls are served: epoll loops (eventLoops of them, 0: one per
	// two CPUs) or a goroutine per connection; async enqueues on the lean
	// front or net/http. Switchable so each optimisation can be measured.
	eventLoop, asyncLean bool
	eventLoops           int
}

func (c *connFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&c.head, "read-header-timeout", 10*time.Second, "a request head must arrive whole within this time of its first byte (of the accept, for a connection's first request); reads do not extend it")
	fs.DurationVar(&c.idle, "idle-timeout", 120*time.Second, "a keep-alive connection waiting for its next request is closed after this")
	fs.DurationVar(&c.body, "body-timeout", 30*time.Second, "a function call's body that stops arriving for this long is answered 408 (bodies up to 64 KiB: must arrive whole within it)")
	fs.IntVar(&c.maxConns, "max-conns", 0, "most callers' connections open at once; at the cap the ones waiting longest for a request are closed (0: half the open-file limit, at most 65536)")
	fs.Int64Var(&c.maxInvokeBody, "max-invoke-body", 64<<20, "function call body limit in bytes, 413 over it (0: no limit)")
	fs.BoolVar(&c.eventLoop, "event-loop", envOr("FERRY_EVENT_LOOP", "on") != "off", "proxy function calls with epoll event loops; false serves every call with a goroutine per connection (env FERRY_EVENT_LOOP=off)")
	fs.IntVar(&c.eventLoops, "event-loops", envInt("FERRY_EVENT_LOOPS", 0), "how many event loops (0: one per two CPUs) (env FERRY_EVENT_LOOPS)")
	fs.BoolVar(&c.asyncLean, "async-lean", envOr("FERRY_ASYNC_LEAN", "on") != "off", "enqueue async calls on the lean HTTP/1.1 front; false: through net/http (env FERRY_ASYNC_LEAN=off)")
}

// check refuses settings that cannot work, naming the flag.
func (c *connFlags) check() error {
	if c.eventLoops < 0 {
		return fmt.Errorf("--event-loops %d: use 0 (one per two CPUs) or more", c.eventLoops)
	}
	return nil
}

// envInt is an integer default from the environment (def when unset or
// not a number: the flag's check then sees def).
func envInt(k string, def int) int {
	if n, err := strconv.Atoi(envOr(k, "")); err == nil {
		return n
	}
	return def
}

// cap is the connection cap: half the descriptor limit by default, the
// rest kept for replica connections, files and listeners. (Go raises the
// soft limit to the hard one at start.)
func (c *connFlags) cap() int {
	if c.maxConns > 0 {
		return c.maxConns
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < 1024 {
		return 512
	}
	return int(min((rl.Cur-256)/2, 65536))
}
