package cli

import (
	"github.com/ferryfaas/ferry/watchdog"
	"github.com/spf13/cobra"
)

// `ferry watchdog` runs the function watchdog from the ferry binary itself,
// configured only by its environment (contract section 4). The process
// runtime uses it when no separate watchdog binary sits next to ferry.
func init() {
	register(func() *cobra.Command {
		return &cobra.Command{
			Use:                "watchdog",
			Short:              "Run the function watchdog (configured by env: fprocess, mode, port, ...)",
			Hidden:             true,
			DisableFlagParsing: true,
			RunE: func(*cobra.Command, []string) error {
				if code := watchdog.Main(); code != 0 {
					return &ExitError{Code: code, Err: errWatchdog}
				}
				return nil
			},
		}
	})
}

type watchdogErr struct{}

func (watchdogErr) Error() string { return "watchdog stopped with an error (see its log above)" }

var errWatchdog = watchdogErr{}
