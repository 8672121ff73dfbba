// Package cli implements the ferry command line: one file per command,
// registered on the root command from its own init function.
package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/ferryfaas/ferry/cli.Version=...".
var (
	Version = "dev"
	Commit  = "unknown"
)

// commands registered by the files of this package (see register).
var commands []func() *cobra.Command

// register adds a command constructor; each command file calls it in init.
func register(f func() *cobra.Command) { commands = append(commands, f) }

// NewRoot builds the root command with every registered subcommand.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "ferry",
		Short:         "Ferry runs functions as HTTP endpoints (OpenFaaS-compatible)",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version + " (" + Commit + ")",
	}
	for _, f := range commands {
		root.AddCommand(f())
	}
	return root
}

// ExitError carries a specific exit code.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Main runs the CLI and returns the process exit code. Every failure prints
// one line "Error: ..." on stderr and exits non-zero.
func Main(args []string) int {
	root := NewRoot()
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		var ee *ExitError
		if errors.As(err, &ee) && ee.Code != 0 {
			return ee.Code
		}
		return 1
	}
	return 0
}
