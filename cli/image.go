package cli

import (
	"fmt"
	"net/http"

	"github.com/ferryfaas/ferry/client"
	"github.com/spf13/cobra"
)

func init() { register(newImageCmd) }

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the images of a gateway running `ferry serve --runtime containerd`",
	}
	var r remote
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Send an image archive to the gateway, which imports it into containerd",
		Long: `Send an image archive to the gateway, which imports it into its containerd
runtime: no registry is needed. FILE is what ` + "`ferry build --image`" + ` writes: an OCI
layout folder (sent as a tar), or a docker archive (--format docker). Deploy
the image after by its name.`,
		Example: `  ferry build --image --format docker
  ferry image import build/hello-image.tar
  ferry deploy --name hello --image acme/hello:1`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client("")
			if err != nil {
				return err
			}
			refs, err := c.ImportImage(cmd.Context(), args[0])
			if client.StatusOf(err) == http.StatusNotFound {
				return fmt.Errorf("%w (the gateway imports images only with `ferry serve --runtime containerd`)", err)
			}
			if err != nil {
				return err
			}
			for _, ref := range refs {
				fmt.Fprintf(cmd.OutOrStdout(), "Imported %s\n", ref)
			}
			return nil
		},
	}
	addRemoteFlags(imp, &r, false)
	cmd.AddCommand(imp)
	return cmd
}
