package gateway

import "net/http"

// getFunction is GET /system/function/{name}?namespace=: 404 if absent.
func (g *Gateway) getFunction(w http.ResponseWriter, r *http.Request) error {
	name, ns, err := g.pathFunction(r, "name")
	if err != nil {
		return err
	}
	st, err := g.cfg.Provider.Get(r.Context(), ns, name)
	if err != nil {
		return err
	}
	g.decorate(r, &st)
	return writeJSON(w, http.StatusOK, st)
}
