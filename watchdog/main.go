package watchdog

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferryfaas/ferry/procs"
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
	// One P until the load needs more: see package procs.
	procs.Start(context.Background())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "watchdog:", err)
		return 1
	}
	return 0
}
