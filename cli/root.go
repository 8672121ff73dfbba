// Package cli implements the ferry command line: one file per command,
// registered on the root command from its own init function.
package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

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
	for _, c := range root.Commands() {
		strictGroups(c)
	}
	return root
}

// strictGroups makes every command group under c (`ferry secret`, `ferry
// queue dead-letters`...) refuse an unknown subcommand. Cobra checks that
// only on the root: `ferry secret creat` printed help and exited 0, so a
// script's typo passed unnoticed.
func strictGroups(c *cobra.Command) {
	if !c.HasSubCommands() {
		return
	}
	if c.Run == nil && c.RunE == nil {
		c.SuggestionsMinimumDistance = 2
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return fmt.Errorf("%s (see '%s --help')", msg, cmd.CommandPath())
		}
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	for _, sub := range c.Commands() {
		strictGroups(sub)
	}
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
