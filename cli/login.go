package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/ferryfaas/ferry/client"
	"github.com/spf13/cobra"
)

func init() { register(newLoginCmd) }

func newLoginCmd() *cobra.Command {
	var r remote
	var user, password string
	var stdin, show bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Store credentials for a gateway in ~/.ferry/config.yml",
		Long: `Check a user and password against the gateway and store them (mode 0600,
like faas-cli's config) so that later commands need no password. The gateway
becomes the current one: commands talk to it when neither --gateway,
$FERRY_URL, $OPENFAAS_URL nor a stack file names another. A password is only
ever sent to the gateway it was stored for. The gateway on this machine needs
no login: ferry reads the password ` + "`ferry serve`" + ` generated in its data dir.`,
		Example: `  cat password.txt | ferry login --password-stdin
  ferry login --gateway https://faas.example.com --username admin --password-stdin < pw.txt
  ferry login --show      # which gateway commands talk to, and why`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if show {
				return showGateway(cmd, &r)
			}
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
	cmd.Flags().BoolVar(&show, "show", false, "print the gateway commands talk to, where that choice comes from, and whose credentials they send (never the password)")
	return cmd
}

// showGateway prints the gateway the other commands would use and why.
func showGateway(cmd *cobra.Command, r *remote) error {
	gw, src, err := r.gatewaySource(localStackGateway())
	if err != nil {
		return err
	}
	user, pass := credentials(gw)
	how := "none (commands will get 401: run ferry login)"
	switch {
	case pass == "":
	case os.Getenv("FERRY_PASSWORD") != "":
		how = "$FERRY_PASSWORD"
	case servedFromDataDir(gw):
		how = "the local data dir's admin password (" + DefaultDataDir() + ")"
	default:
		how = "stored by ferry login"
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "gateway:     %s (from %s)\n", gw, src)
	if pass != "" {
		fmt.Fprintf(w, "user:        %s\n", user)
	}
	fmt.Fprintf(w, "credentials: %s\n", how)
	return nil
}
