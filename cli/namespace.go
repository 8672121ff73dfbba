package cli

import (
	"fmt"
	"sort"

	"github.com/ferryfaas/ferry/api"
	"github.com/spf13/cobra"
)

func init() { register(newNamespaceCmd) }

func newNamespaceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "namespace",
		Aliases: []string{"ns"},
		Short:   "Manage function namespaces",
		Example: `  ferry namespace list
  ferry namespace create dev --label team=a
  ferry namespace remove dev`,
	}
	cmd.AddCommand(nsListCmd(), nsCreateCmd(), nsRemoveCmd())
	return cmd
}

func nsListCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List namespaces",
		Example: `  ferry namespace list -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.outputClient()
			if err != nil {
				return err
			}
			list, err := c.ListNamespaces(cmd.Context())
			if err != nil {
				return err
			}
			sort.Strings(list)
			if r.output == "json" {
				return printJSON(cmd.OutOrStdout(), list)
			}
			t := newTable(cmd.OutOrStdout(), "NAMESPACE")
			for _, n := range list {
				t.row(n)
			}
			return t.flush()
		},
	}
	addRemoteFlags(cmd, &r, true)
	return cmd
}

func nsCreateCmd() *cobra.Command {
	var r remote
	var labels, annotations []string
	cmd := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a namespace",
		Example: `  ferry namespace create dev --label team=a --annotation owner=ann`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := api.ValidateName("namespace", args[0]); err != nil {
				return err
			}
			ns := api.Namespace{Name: args[0]}
			var err error
			if ns.Labels, err = parseKV("label", labels); err != nil {
				return err
			}
			if ns.Annotations, err = parseKV("annotation", annotations); err != nil {
				return err
			}
			c, err := r.client("")
			if err != nil {
				return err
			}
			if err := c.CreateNamespace(cmd.Context(), ns); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created namespace %s\n", ns.Name)
			return nil
		},
	}
	addRemoteFlags(cmd, &r, false)
	cmd.Flags().StringArrayVarP(&labels, "label", "l", nil, "label KEY=VALUE (repeatable)")
	cmd.Flags().StringArrayVar(&annotations, "annotation", nil, "annotation KEY=VALUE (repeatable)")
	return cmd
}

func nsRemoveCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:     "remove NAME",
		Aliases: []string{"rm", "delete"},
		Short:   "Remove a namespace",
		Example: `  ferry namespace remove dev`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client("")
			if err != nil {
				return err
			}
			if err := c.DeleteNamespace(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed namespace %s\n", args[0])
			return nil
		},
	}
	addRemoteFlags(cmd, &r, false)
	return cmd
}
