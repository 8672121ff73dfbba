package cli

import (
	"context"
	"net/http"

	"github.com/ferryfaas/ferry/ui"
)

// portalPlugin is the web portal: its assets are embedded, so it is always
// on. The login shell at /ui/login is served before the gateway's auth
// (ui.Public); the rest of /ui/ stays behind it.
func portalPlugin() ServePlugin {
	return ServePlugin{
		Name: "portal",
		Setup: func(_ context.Context, s *Server) error {
			opts := ui.Options{Version: Version + " (" + Commit + ")"}
			s.Gateway.UI = ui.Handler(opts)
			s.WrapHandler = append(s.WrapHandler, func(h http.Handler) http.Handler { return ui.Public(h, opts) })
			return nil
		},
	}
}
