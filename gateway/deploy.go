package gateway

import (
	"net/http"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/autoscale"
	"github.com/ferryfaas/ferry/trigger"
)

// deployFunction is POST /system/functions: 202, or 409 when the function
// exists. (faas-cli deploy sends PUT first and POST when that gives 404.)
func (g *Gateway) deployFunction(w http.ResponseWriter, r *http.Request) error {
	d, err := g.readDeployment(w, r)
	if err != nil {
		return err
	}
	if err := g.cfg.Provider.Deploy(r.Context(), d); err != nil {
		return err
	}
	return accepted(w)
}

// readDeployment decodes and validates a FunctionDeployment body.
func (g *Gateway) readDeployment(w http.ResponseWriter, r *http.Request) (api.FunctionDeployment, error) {
	b, err := g.readBody(w, r)
	if err != nil {
		return api.FunctionDeployment{}, err
	}
	return g.parseDeployment(r, b)
}

// parseDeployment is the decoder the fuzz target drives.
func (g *Gateway) parseDeployment(r *http.Request, b []byte) (api.FunctionDeployment, error) {
	var d api.FunctionDeployment
	if err := decodeBytes(b, &d, "a FunctionDeployment"); err != nil {
		return d, err
	}
	ns, err := g.namespace(r, d.Namespace)
	if err != nil {
		return d, err
	}
	d.Namespace = ns
	if err := d.Validate(g.cfg.DefaultNamespace); err != nil {
		return d, err
	}
	// Refused here rather than only reported by the autoscaler: the
	// provider starts com.openfaas.scale.min replicas before any check.
	if err := autoscale.CheckLabels(d.Labels, g.cfg.MaxReplicas); err != nil {
		return d, api.BadRequest("field \"labels\": %w", err)
	}
	return d, trigger.ValidateAnnotations(d.Annotations)
}
