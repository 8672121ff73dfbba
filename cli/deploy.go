package cli

import (
	"fmt"
	"os"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/client"
	"github.com/ferryfaas/ferry/stack"
	"github.com/spf13/cobra"
)

func init() { register(newDeployCmd) }

func newDeployCmd() *cobra.Command {
	var r remote
	var f deployFlags
	var w waitFlags
	var image, name string
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy functions from a stack file or from flags, without building",
		Long: `Create or update functions on the gateway. With --image and --name, one
function is deployed from flags; otherwise every function of the stack file
(filtered by --filter/--regex). Flags such as --env and --label are merged
over the stack file's values. To build from source first, use ` + "`ferry up`" + `.`,
		Example: `  ferry deploy                                   # every function in ./stack.yml
  ferry deploy -f stack.yml --filter 'api-*' --env LOG=debug
  ferry deploy --name nginx --image nginx:1.27 --fprocess 'nginx -g "daemon off;"'
  ferry deploy --name echo --image ghcr.io/acme/echo:1 --label com.openfaas.scale.max=5 --secret api-key
  ferry deploy --name echo --image cat --fprocess cat --no-wait   # return before it is ready`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var deps []api.FunctionDeployment
			stackGW := ""
			if image != "" || name != "" {
				if image == "" || name == "" {
					return usageErr(cmd, "deploying from flags needs both --name and --image")
				}
				if err := api.ValidateName("function", name); err != nil {
					return err
				}
				d := api.FunctionDeployment{Service: name, Image: image}
				if err := f.apply(&d); err != nil {
					return err
				}
				deps = append(deps, d)
			} else {
				st, err := stack.Load(f.file, os.LookupEnv)
				if err != nil {
					return err
				}
				stackGW = st.Provider.Gateway
				fns, err := stack.Filter(st.Functions, f.filter, f.regex)
				if err != nil {
					return err
				}
				for _, fn := range fns {
					if fn.Lang != "" && fn.Image == "" && !fn.SkipBuild {
						fmt.Fprintf(cmd.ErrOrStderr(), "note: %s has no image and `ferry deploy` does not build: use `ferry up` to build and deploy it\n", fn.Name)
					}
					d := stack.Deployment(fn, "")
					if err := f.apply(&d); err != nil {
						return fmt.Errorf("%s: %v", fn.Name, err)
					}
					deps = append(deps, d)
				}
			}
			c, err := r.client(stackGW)
			if err != nil {
				return err
			}
			for _, d := range deps {
				if err := deployOne(cmd, c, d, w); err != nil {
					return err
				}
			}
			return nil
		},
	}
	addRemoteFlags(cmd, &r, false)
	f.register(cmd)
	w.register(cmd.Flags())
	cmd.Flags().StringVar(&image, "image", "", "image to deploy (with --name: ignore the stack file)")
	cmd.Flags().StringVar(&name, "name", "", "function name (with --image)")
	return cmd
}

// deployOne sends one deployment, reports where the function answers and,
// with --wait, waits for it to be ready.
func deployOne(cmd *cobra.Command, c *client.Client, d api.FunctionDeployment, w waitFlags) error {
	created, err := c.Deploy(cmd.Context(), d)
	if err != nil {
		return fmt.Errorf("deploying %s: %w", d.Service, err)
	}
	verb := "Updated"
	if created {
		verb = "Deployed"
	}
	target := d.Service
	if d.Namespace != "" && d.Namespace != api.DefaultNamespace {
		target += "." + d.Namespace
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %s/function/%s\n", verb, d.Service, c.Gateway, target)
	if !w.waiting() {
		return nil
	}
	return waitReady(cmd.Context(), c, d.Service, d.Namespace, w.timeout, cmd.OutOrStdout())
}
