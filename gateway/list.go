package gateway

import (
	"net/http"

	"github.com/ferryfaas/ferry/api"
)

// listFunctions is GET /system/functions?namespace=.
func (g *Gateway) listFunctions(w http.ResponseWriter, r *http.Request) error {
	ns, err := g.namespace(r, "")
	if err != nil {
		return err
	}
	fns, err := g.cfg.Provider.List(r.Context(), ns)
	if err != nil {
		return err
	}
	if fns == nil {
		fns = []api.FunctionStatus{} // "[]", never "null"
	}
	for i := range fns {
		g.decorate(r, &fns[i])
	}
	return writeJSON(w, http.StatusOK, fns)
}

// decorate fills Ferry's extra status fields: the wiring's (autoscaler,
// usage), then the one-word state computed from the rest.
func (g *Gateway) decorate(r *http.Request, st *api.FunctionStatus) {
	if g.cfg.Decorate != nil {
		g.cfg.Decorate(r.Context(), st)
	}
	st.Status = api.StateOf(*st)
}
