package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/client"
	"github.com/spf13/cobra"
)

func init() { register(newSecretCmd) }

func newSecretCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Manage secrets that functions read from /var/openfaas/secrets/NAME",
		Example: `  ferry secret create api-key --from-literal s3cr3t
  ferry secret create tls-cert --from-file cert.pem
  echo -n s3cr3t | ferry secret create api-key
  ferry secret list
  ferry secret update api-key --from-literal n3w
  ferry secret remove api-key`,
	}
	cmd.AddCommand(secretWriteCmd("create", "Create a secret"), secretWriteCmd("update", "Replace a secret's value"),
		secretListCmd(), secretRemoveCmd())
	return cmd
}

func secretWriteCmd(verb, short string) *cobra.Command {
	var r remote
	var namespace, literal, file string
	cmd := &cobra.Command{
		Use:   verb + " NAME [--from-literal VALUE | --from-file PATH | < stdin]",
		Short: short + " (value from --from-literal, --from-file or stdin)",
		Example: fmt.Sprintf(`  ferry secret %[1]s api-key --from-literal s3cr3t
  ferry secret %[1]s tls-cert --from-file cert.pem
  echo -n s3cr3t | ferry secret %[1]s api-key`, verb),
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := api.ValidateName("secret", name); err != nil {
				return err
			}
			s := api.Secret{Name: name, Namespace: namespace}
			lit := cmd.Flags().Changed("from-literal")
			switch {
			case lit && file != "":
				return usageErr(cmd, "use --from-literal or --from-file, not both")
			case lit:
				s.Value = literal
			case file != "":
				b, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("--from-file: %v", err)
				}
				s.RawValue = b
			default:
				if isTerminal(cmd.InOrStdin()) {
					return usageErr(cmd, "no value: pass --from-literal, --from-file or pipe it on stdin")
				}
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("reading stdin: %v", err)
				}
				s.Value = strings.TrimSuffix(string(b), "\n")
			}
			if s.Value == "" && len(s.RawValue) == 0 {
				return usageErr(cmd, "the secret value is empty")
			}
			c, err := r.client("")
			if err != nil {
				return err
			}
			if verb == "create" {
				err = c.CreateSecret(cmd.Context(), s)
			} else {
				err = c.UpdateSecret(cmd.Context(), s)
			}
			if err != nil {
				if verb == "create" && client.StatusOf(err) == 409 {
					return fmt.Errorf("%v: use `ferry secret update %s`", err, name)
				}
				return hint404(err, "ferry secret list")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s secret %s\n", map[string]string{"create": "Created", "update": "Updated"}[verb], name)
			return nil
		},
	}
	addRemoteFlags(cmd, &r, false)
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace (default: the gateway's)")
	cmd.Flags().StringVar(&literal, "from-literal", "", "the value")
	cmd.Flags().StringVar(&file, "from-file", "", "read the value from a file (binary is fine)")
	return cmd
}

func secretListCmd() *cobra.Command {
	var r remote
	var namespace string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List secret names (values are never shown)",
		Example: `  ferry secret list
  ferry secret list --namespace dev -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.outputClient()
			if err != nil {
				return err
			}
			list, err := c.ListSecrets(cmd.Context(), namespace)
			if err != nil {
				return err
			}
			sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
			if r.output == "json" {
				return printJSON(cmd.OutOrStdout(), list)
			}
			t := newTable(cmd.OutOrStdout(), "NAME", "NAMESPACE")
			for _, s := range list {
				t.row(s.Name, s.Namespace)
			}
			return t.flush()
		},
	}
	addRemoteFlags(cmd, &r, true)
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace (default: the gateway's)")
	return cmd
}

func secretRemoveCmd() *cobra.Command {
	var r remote
	var namespace string
	cmd := &cobra.Command{
		Use:     "remove NAME...",
		Aliases: []string{"rm", "delete"},
		Short:   "Remove secrets",
		Example: `  ferry secret remove api-key`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(cmd, "name the secret(s) to remove")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client("")
			if err != nil {
				return err
			}
			for _, name := range args {
				if err := c.DeleteSecret(cmd.Context(), name, namespace); err != nil {
					return hint404(err, "ferry secret list")
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed secret %s\n", name)
			}
			return nil
		},
	}
	addRemoteFlags(cmd, &r, false)
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace (default: the gateway's)")
	return cmd
}
