package gateway

import (
	"net/http"
	"runtime"

	"github.com/ferryfaas/ferry/api"
)

// info is GET /system/info.
func (g *Gateway) info(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, api.Info{
		Provider: g.cfg.Provider.Info(),
		Version:  g.cfg.Version,
		Arch:     runtime.GOARCH,
	})
}
