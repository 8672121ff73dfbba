package watchdog

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
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
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "watchdog:", err)
		return 1
	}
	return 0
}
