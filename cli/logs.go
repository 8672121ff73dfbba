package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/spf13/cobra"
)

func init() { register(newLogsCmd) }

func newLogsCmd() *cobra.Command {
	var r remote
	var (
		namespace, since, instance, pattern string
		tail                                int
		follow, noName                      bool
	)
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "Print (and follow) a function's logs",
		Example: `  ferry logs echo
  ferry logs echo --follow --tail 20
  ferry logs echo --since 5m --grep '(?i)error'
  ferry logs echo -o json | jq .text        # one JSON object per line
  ferry logs echo --since 2026-01-02T15:04:05Z --instance 12345`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := r.checkOutput(); err != nil {
				return err
			}
			var grep *regexp.Regexp
			if pattern != "" {
				var err error
				if grep, err = regexp.Compile(pattern); err != nil {
					return usageErr(cmd, "--grep %q is not a regular expression: %v", pattern, err)
				}
			}
			name, ns := splitName(args[0], namespace)
			req := api.LogRequest{Name: name, Namespace: ns, Instance: instance, Tail: tail, Follow: follow}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return err
				}
				req.Since = &t
			}
			c, err := r.client("")
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			return hint404(c.Logs(ctx, req, func(m api.LogMessage) error {
				if grep != nil && !grep.MatchString(m.Text) {
					return nil
				}
				if r.output == "json" {
					// One object per line (JSON Lines), for jq and log shippers.
					if err := json.NewEncoder(w).Encode(m); err != nil {
						return err
					}
				} else {
					prefix := m.Timestamp.Format(time.RFC3339)
					if !noName {
						prefix += " " + m.Name
						if m.Instance != "" {
							prefix += " (" + m.Instance + ")"
						}
					}
					fmt.Fprintf(w, "%s %s\n", prefix, strings.TrimRight(m.Text, "\n"))
				}
				if follow {
					return w.Flush()
				}
				return nil
			}), "ferry list")
		},
	}
	addRemoteFlags(cmd, &r, true)
	fs := cmd.Flags()
	fs.StringVarP(&namespace, "namespace", "n", "", "namespace of the function (or use NAME.NAMESPACE)")
	fs.BoolVarP(&follow, "follow", "f", false, "keep streaming new lines")
	fs.IntVar(&tail, "tail", -1, "only the last N lines (-1: all)")
	fs.StringVar(&since, "since", "", "only lines newer than a duration (5m) or an RFC 3339 time")
	fs.StringVar(&instance, "instance", "", "only this replica")
	fs.BoolVar(&noName, "no-name", false, "omit the function name and instance")
	fs.StringVar(&pattern, "grep", "", "only lines matching this regular expression (Go syntax, e.g. 'error|panic' or '(?i)timeout')")
	return cmd
}

// parseSince reads "5m"/"1h30m" (ago) or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: use a duration such as 5m or a time such as 2026-01-02T15:04:05Z", s)
}
