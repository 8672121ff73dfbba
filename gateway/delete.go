package gateway

import (
	"net/http"

	"github.com/ferryfaas/ferry/api"
)

// deleteFunction is DELETE /system/functions with {"functionName","namespace"}.
func (g *Gateway) deleteFunction(w http.ResponseWriter, r *http.Request) error {
	var req api.DeleteFunctionRequest
	if err := g.decodeJSON(w, r, &req, `{"functionName":"NAME"}`); err != nil {
		return err
	}
	if err := api.ValidateName("function", req.FunctionName); err != nil {
		return fieldError("functionName", err)
	}
	ns, err := g.namespace(r, req.Namespace)
	if err != nil {
		return err
	}
	if err := g.cfg.Provider.Delete(r.Context(), ns, req.FunctionName); err != nil {
		return err
	}
	return accepted(w)
}

// fieldError prefixes a validation error with the JSON field it is about.
func fieldError(field string, err error) error {
	return api.Errorf(api.StatusOf(err), "field %q: %w", field, err)
}
