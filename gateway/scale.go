package gateway

import (
	"net/http"

	"github.com/ferryfaas/ferry/api"
)

// scaleFunction is POST /system/scale-function/{name} with
// {"serviceName","replicas","namespace"}; serviceName may be omitted but
// must match the path when given.
func (g *Gateway) scaleFunction(w http.ResponseWriter, r *http.Request) error {
	name, pns, err := splitPathName(r.PathValue("name"))
	if err != nil {
		return err
	}
	var req api.ScaleServiceRequest
	if err := g.decodeJSON(w, r, &req, `{"serviceName":"NAME","replicas":N}`); err != nil {
		return err
	}
	if req.ServiceName != "" && req.ServiceName != name {
		return api.BadRequest("field \"serviceName\": %q does not match the function %q in the path", short(req.ServiceName), name)
	}
	if req.Replicas > g.cfg.MaxReplicas {
		return api.BadRequest("field \"replicas\": %d is more than the limit of %d", req.Replicas, g.cfg.MaxReplicas)
	}
	bodyNS := req.Namespace
	if pns != "" {
		if bodyNS != "" && bodyNS != pns {
			return api.BadRequest("namespace %q in the path and %q in the body disagree: give one", pns, short(bodyNS))
		}
		bodyNS = pns
	}
	ns, err := g.namespace(r, bodyNS)
	if err != nil {
		return err
	}
	if err := g.cfg.Provider.Scale(r.Context(), ns, name, req.Replicas); err != nil {
		return err
	}
	return accepted(w)
}

// splitPathName validates a "name" or "name.namespace" path element.
func splitPathName(s string) (name, ns string, err error) {
	name, ns = api.SplitFunctionName(s, "")
	if err := api.ValidateName("function", name); err != nil {
		return "", "", err
	}
	if ns == "" && len(name) < len(s) {
		return "", "", api.BadRequest("function %q ends with a dot: write NAME or NAME.NAMESPACE", short(s))
	}
	if ns != "" {
		if err := api.ValidateName("namespace", ns); err != nil {
			return "", "", err
		}
	}
	return name, ns, nil
}
