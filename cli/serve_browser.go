package cli

import (
	"context"
	"net/netip"

	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/spf13/pflag"
)

// browserPlugin is the browser defences (docs/security.md, "Browsers: CSRF
// and function origins"): which other web origins may change things through
// the API, whether function pages lose the gateway's origin, and which Host
// names are answered.
func browserPlugin() ServePlugin {
	var trusted []string
	var sandbox bool
	var hosts []string
	return ServePlugin{
		Name: "browser",
		Flags: func(fs *pflag.FlagSet, _ *serveconfig.Config) {
			fs.StringSliceVar(&trusted, "trusted-origin", nil, "web origins (scheme://host[:port]) whose pages may make state-changing /system and /ui calls, for a UI hosted elsewhere (default: the gateway's own pages only)")
			fs.StringSliceVar(&hosts, "allowed-host", nil, "more Host names to answer (name or *.domain; repeatable), for a proxy that keeps Host: on a loopback --listen only IP addresses, localhost and *.localhost are answered (DNS rebinding defence), others get 421; on other addresses every Host is, unless this is given")
			fs.BoolVar(&sandbox, "function-sandbox", true, "answer function calls with Content-Security-Policy: sandbox and nosniff, so function pages run in an opaque origin and cannot use the portal's or the API's credentials (turn off only when every function is a trusted web app)")
		},
		Setup: func(_ context.Context, s *Server) error {
			s.Gateway.TrustedOrigins = trusted
			s.Gateway.TrustedFunctionPages = !sandbox
			s.Gateway.AllowedHosts = hosts
			// On loopback, only this machine's browsers reach the gateway, by
			// names DNS cannot re-point at it.
			if ap, err := netip.ParseAddrPort(s.Addr); err == nil && ap.Addr().Unmap().IsLoopback() {
				s.Gateway.RestrictHosts = true
			}
			return nil
		},
	}
}
