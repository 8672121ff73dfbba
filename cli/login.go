package cli

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/ferryfaas/ferry/client"
	"github.com/spf13/cobra"
)

func init() { register(newLoginCmd) }

func newLoginCmd() *cobra.Command {
	var r remote
	var user, password string
	var stdin bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Store credentials for a gateway in ~/.ferry/config.yml",
		Long: `Check a user and password against the gateway and store them (mode 0600,
like faas-cli's config) so that later commands need no password. A gateway on
this machine needs no login: ferry reads the password ` + "`ferry serve`" + ` generated.`,
		Example: `  cat password.txt | ferry login --password-stdin
  ferry login --gateway https://faas.example.com --username admin --password-stdin < pw.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			gw, err := r.gatewayURL(localStackGateway())
			if err != nil {
				return err
			}
			switch {
			case stdin && password != "":
				return usageErr(cmd, "use --password or --password-stdin, not both")
			case stdin:
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("reading the password from stdin: %v", err)
				}
				password = strings.TrimRight(line, "\r\n")
			case password != "":
				fmt.Fprintln(cmd.ErrOrStderr(), "WARNING: --password shows in shell history and ps; prefer --password-stdin")
			}
			if password == "" {
				return usageErr(cmd, "no password: pipe it to --password-stdin")
			}
			c := client.New(gw, user, password)
			if r.tlsNoVerify {
				c.HTTP.Transport = client.DefaultTransport(true)
			}
			if _, err := c.Info(cmd.Context()); err != nil {
				if client.StatusOf(err) == 401 {
					return fmt.Errorf("the gateway at %s rejected user %q: check the password (local gateways keep it in DATA/secrets/basic-auth-password)", gw, user)
				}
				return err
			}
			p, err := storeAuth(gw, user, password)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged in to %s as %s (credentials in %s)\n", gw, user, p)
			return nil
		},
	}
	addRemoteFlags(cmd, &r, false)
	cmd.Flags().StringVarP(&user, "username", "u", "admin", "user name")
	cmd.Flags().StringVarP(&password, "password", "p", "", "password (prefer --password-stdin)")
	cmd.Flags().BoolVarP(&stdin, "password-stdin", "s", false, "read the password from stdin")
	return cmd
}
