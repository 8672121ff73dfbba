package gateway

import "net/http"

// updateFunction is PUT /system/functions: 202, or 404 when the function
// does not exist (faas-cli deploy then POSTs it).
func (g *Gateway) updateFunction(w http.ResponseWriter, r *http.Request) error {
	d, err := g.readDeployment(w, r)
	if err != nil {
		return err
	}
	if err := g.cfg.Provider.Update(r.Context(), d); err != nil {
		return err
	}
	return accepted(w)
}
