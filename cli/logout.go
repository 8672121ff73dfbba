package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() { register(newLogoutCmd) }

func newLogoutCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:     "logout",
		Short:   "Forget the stored credentials of a gateway",
		Example: `  ferry logout --gateway https://faas.example.com`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			gw, err := r.gatewayURL(localStackGateway())
			if err != nil {
				return err
			}
			found, p, err := removeAuth(gw)
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("no stored credentials for %s in %s: nothing to do", gw, p)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged out of %s\n", gw)
			return nil
		},
	}
	addRemoteFlags(cmd, &r, false)
	return cmd
}
