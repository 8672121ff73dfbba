package cli

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/spf13/cobra"
)

func init() { register(newListCmd) }

func newListCmd() *cobra.Command {
	var r remote
	var namespace string
	var verbose bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the functions deployed on the gateway",
		Example: `  ferry list
  ferry list -v                  # with image, replicas and invocations
  ferry list --namespace dev -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.outputClient()
			if err != nil {
				return err
			}
			fns, err := c.List(cmd.Context(), namespace)
			if err != nil {
				return err
			}
			sort.Slice(fns, func(i, j int) bool { return fns[i].Name < fns[j].Name })
			out := cmd.OutOrStdout()
			if r.output == "json" {
				return printJSON(out, fns)
			}
			now := time.Now()
			if !verbose {
				t := newTable(out, "NAME", "STATUS", "INVOCATIONS", "REPLICAS")
				for _, f := range fns {
					t.row(f.Name, state(f), fmtCount(f.InvocationCount), strconv.FormatUint(f.AvailableReplicas, 10))
				}
				return t.flush()
			}
			t := newTable(out, "NAME", "NAMESPACE", "STATUS", "IMAGE", "INVOCATIONS", "REPLICAS", "AVAILABLE", "AGE")
			for _, f := range fns {
				t.row(f.Name, f.Namespace, state(f), f.Image, fmtCount(f.InvocationCount),
					strconv.FormatUint(f.Replicas, 10), strconv.FormatUint(f.AvailableReplicas, 10), age(f.CreatedAt, now))
			}
			return t.flush()
		},
	}
	addRemoteFlags(cmd, &r, true)
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace (default: the gateway's)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show image, desired/available replicas and age")
	return cmd
}

func fmtCount(f float64) string { return fmt.Sprintf("%.0f", f) }

// state is the gateway's one-word state of a function, or the client's own
// reading of the same status for a gateway that sends none.
func state(f api.FunctionStatus) string {
	if f.Status != "" {
		return f.Status
	}
	return api.StateOf(f)
}
