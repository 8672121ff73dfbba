package cli

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/ferryfaas/ferry/api"
	"github.com/spf13/cobra"
)

func init() { register(newVersionCmd) }

func newVersionCmd() *cobra.Command {
	var r remote
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client's and the gateway's versions",
		Example: `  ferry version
  ferry version --client-only
  ferry version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := r.checkOutput(); err != nil {
				return err
			}
			out := struct {
				Client api.VersionInfo `json:"client"`
				Server *api.Info       `json:"server,omitempty"`
			}{Client: api.VersionInfo{SHA: Commit, Release: Version}}
			var srvErr error
			if !clientOnly {
				c, err := r.client("")
				if err != nil {
					return err
				}
				info, err := c.Info(cmd.Context())
				if err == nil {
					out.Server = &info
				}
				srvErr = err
			}
			w := cmd.OutOrStdout()
			if r.output == "json" {
				if err := printJSON(w, out); err != nil {
					return err
				}
				return srvErr
			}
			fmt.Fprintf(w, "Client:\n  version  %s\n  commit   %s\n  go       %s %s/%s\n", Version, Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if s := out.Server; s != nil {
				provider := strings.TrimSpace(fmt.Sprintf("%s (%s) %s", s.Provider.Name, s.Provider.Orchestration, s.Provider.Version.Release))
				fmt.Fprintf(w, "Server:\n  version  %s\n  commit   %s\n  arch     %s\n  provider %s\n",
					s.Version.Release, s.Version.SHA, s.Arch, provider)
			}
			return srvErr
		},
	}
	addRemoteFlags(cmd, &r, true)
	cmd.Flags().BoolVar(&clientOnly, "client-only", false, "do not ask the gateway")
	return cmd
}
