package watchdog

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferryfaas/ferry/internal/governor"
)

// Main runs the watchdog as a process: configuration from the environment,
// SIGTERM/SIGINT start the drain. It returns the exit code (0 after a clean
// drain). cmd/watchdog and `ferry watchdog` call it.
func Main() int {
	cfg, err := ConfigFromEnv(os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, "watchdog:", err)
		return 2
	}
	// A proxying watchdog (http, static) starts with one P and gets more
	// as its load needs them (package governor). Fork modes spend their time
	// in blocking fork, exec and wait calls, whose P another request must
	// not wait to take over: they keep Go's default.
	if cfg.Mode == ModeHTTP || cfg.Mode == ModeStatic {
		governor.Start(context.Background(), func(c *governor.Config) {
			// Every call is a goroutine of its own here, and behind a
			// gateway it waits on each one: from half a core of load, a
			// second P takes more queueing off each call than it costs.
			c.Raise = 0.5
		})
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "watchdog:", err)
		return 1
	}
	return 0
}
