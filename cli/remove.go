package cli

import (
	"fmt"
	"os"

	"github.com/ferryfaas/ferry/stack"
	"github.com/spf13/cobra"
)

func init() { register(newRemoveCmd) }

func newRemoveCmd() *cobra.Command {
	var r remote
	var namespace, file, filter, regex string
	cmd := &cobra.Command{
		Use:     "remove [NAME...]",
		Aliases: []string{"rm", "delete"},
		Short:   "Remove functions by name, or every function of a stack file",
		Example: `  ferry remove echo
  ferry remove echo.dev
  ferry remove                       # every function in ./stack.yml
  ferry remove -f stack.yml --filter 'api-*'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			type target struct{ name, ns string }
			var targets []target
			stackGW := ""
			if len(args) > 0 {
				if filter != "" || regex != "" {
					return usageErr(cmd, "--filter/--regex apply to the stack file; do not combine them with names")
				}
				for _, a := range args {
					n, ns := splitName(a, namespace)
					targets = append(targets, target{n, ns})
				}
			} else {
				if _, err := os.Stat(file); err != nil && !cmd.Flags().Changed("yaml") {
					return usageErr(cmd, "name the functions to remove, or run it next to a stack.yml (or pass -f FILE)")
				}
				st, err := stack.Load(file, os.LookupEnv)
				if err != nil {
					return err
				}
				stackGW = st.Provider.Gateway
				fns, err := stack.Filter(st.Functions, filter, regex)
				if err != nil {
					return err
				}
				for _, fn := range fns {
					ns := fn.Namespace
					if namespace != "" {
						ns = namespace
					}
					targets = append(targets, target{fn.Name, ns})
				}
			}
			c, err := r.client(stackGW)
			if err != nil {
				return err
			}
			failed := 0
			for _, t := range targets {
				if err := c.Delete(cmd.Context(), t.name, t.ns); err != nil {
					if len(targets) == 1 {
						return hint404(err, "ferry list")
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", t.name, err)
					failed++
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed %s\n", t.name)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d functions could not be removed (see above)", failed, len(targets))
			}
			return nil
		},
	}
	addRemoteFlags(cmd, &r, false)
	fs := cmd.Flags()
	fs.StringVarP(&namespace, "namespace", "n", "", "namespace (or use NAME.NAMESPACE)")
	fs.StringVarP(&file, "yaml", "f", "stack.yml", "stack file, used when no NAME is given")
	fs.StringVar(&filter, "filter", "", "only stack functions whose names match this glob")
	fs.StringVar(&regex, "regex", "", "only stack functions whose names match this regular expression")
	return cmd
}
