package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() { register(newScaleCmd) }

func newScaleCmd() *cobra.Command {
	var r remote
	var namespace string
	var replicas int64
	cmd := &cobra.Command{
		Use:   "scale NAME --replicas N",
		Short: "Set the number of replicas of a function",
		Example: `  ferry scale echo --replicas 3
  ferry scale echo --replicas 0     # stop it; the next call may wake it`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if replicas < 0 {
				return usageErr(cmd, "--replicas is required and must be 0 or more")
			}
			c, err := r.client("")
			if err != nil {
				return err
			}
			name, ns := splitName(args[0], namespace)
			if err := c.Scale(cmd.Context(), name, ns, uint64(replicas)); err != nil {
				return hint404(err, "ferry list")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Scaled %s to %d replica(s)\n", name, replicas)
			return nil
		},
	}
	addRemoteFlags(cmd, &r, false)
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the function (or use NAME.NAMESPACE)")
	cmd.Flags().Int64VarP(&replicas, "replicas", "r", -1, "desired replicas")
	return cmd
}
