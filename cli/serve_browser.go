package cli

import (
	"context"

	"github.com/spf13/pflag"
)

// Browser defences (docs/security.md, "Browsers: CSRF and function
// origins"): which other web origins may change things through the API,
// and whether function pages lose the gateway's origin.
func init() {
	var trusted []string
	var sandbox bool
	registerServePlugin(ServePlugin{
		Name: "browser",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringSliceVar(&trusted, "trusted-origin", nil, "web origins (scheme://host[:port]) whose pages may make state-changing /system and /ui calls, for a UI hosted elsewhere (default: the gateway's own pages only)")
			fs.BoolVar(&sandbox, "function-sandbox", true, "answer function calls with Content-Security-Policy: sandbox and nosniff, so function pages run in an opaque origin and cannot use the portal's or the API's credentials (turn off only when every function is a trusted web app)")
		},
		Setup: func(_ context.Context, s *Server) error {
			s.Gateway.TrustedOrigins = trusted
			s.Gateway.TrustedFunctionPages = !sandbox
			return nil
		},
	})
}
