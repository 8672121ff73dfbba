package cli

import (
	"strconv"
	"syscall"

	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/spf13/pflag"
)

// connFlags bound what a caller's connection may hold (slow or silent
// callers, oversized bodies: c's fields), and choose how calls are served:
// epoll loops or a goroutine per connection; async enqueues on the lean
// front or net/http. Switchable so each optimisation can be measured.
type connFlags struct {
	eventLoop, asyncLean bool
}

func (f *connFlags) register(fs *pflag.FlagSet, c *serveconfig.Config) {
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", c.ReadHeaderTimeout, "a request head must arrive whole within this time of its first byte (of the accept, for a connection's first request); reads do not extend it")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "a keep-alive connection waiting for its next request is closed after this")
	fs.DurationVar(&c.BodyTimeout, "body-timeout", c.BodyTimeout, "a function call's body that stops arriving for this long is answered 408 (bodies up to "+strconv.Itoa(serveconfig.ReplayBody>>10)+" KiB: must arrive whole within it)")
	fs.IntVar(&c.MaxConns, "max-conns", c.MaxConns, "most callers' connections open at once; at the cap the ones waiting longest for a request are closed (0: half the open-file limit, at most "+strconv.Itoa(maxConnCap)+")")
	fs.Int64Var(&c.MaxInvokeBody, "max-invoke-body", c.MaxInvokeBody, "function call body limit in bytes, 413 over it (0: no limit)")
	fs.BoolVar(&f.eventLoop, "event-loop", envOr("FERRY_EVENT_LOOP", "on") != "off", "proxy function calls with epoll event loops; false serves every call with a goroutine per connection (env FERRY_EVENT_LOOP=off)")
	fs.IntVar(&c.EventLoops, "event-loops", envInt("FERRY_EVENT_LOOPS", c.EventLoops), "how many event loops (0: one per two CPUs) (env FERRY_EVENT_LOOPS)")
	fs.BoolVar(&f.asyncLean, "async-lean", envOr("FERRY_ASYNC_LEAN", "on") != "off", "enqueue async calls on the lean HTTP/1.1 front; false: through net/http (env FERRY_ASYNC_LEAN=off)")
}

// envInt is an integer default from the environment (def when unset or
// not a number: Validate then sees def).
func envInt(k string, def int) int {
	if n, err := strconv.Atoi(envOr(k, "")); err == nil {
		return n
	}
	return def
}

// maxConnCap bounds the connection cap taken from the open-file limit.
const maxConnCap = 65536

// connCap is the connection cap: --max-conns, else half the descriptor
// limit, the rest kept for replica connections, files and listeners. (Go
// raises the soft limit to the hard one at start.)
func connCap(maxConns int) int {
	if maxConns > 0 {
		return maxConns
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < 1024 {
		return 512
	}
	return int(min((rl.Cur-256)/2, maxConnCap))
}
