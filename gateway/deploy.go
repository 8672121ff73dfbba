package gateway

import (
	"net/http"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/autoscale"
	"github.com/ferryfaas/ferry/queue/subjects"
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
	return d, CheckDeployment(&d, g.cfg.MaxReplicas)
}

// CheckDeployment runs the checks of a valid deployment that need more
// than its own types: the scaling labels against the replica cap (0: the
// default cap) and the trigger annotations. The gateway runs it on every
// deploy and update; a provider that takes deployments from elsewhere
// (Kubernetes Function objects) must run it too, or a function refused
// over the API could still subscribe to a reserved subject through it.
func CheckDeployment(d *api.FunctionDeployment, maxReplicas uint64) error {
	if maxReplicas == 0 {
		maxReplicas = defaultMaxReplicas
	}
	// Refused here rather than only reported by the autoscaler: the
	// provider starts com.openfaas.scale.min replicas before any check.
	if err := autoscale.CheckLabels(d.Labels, maxReplicas); err != nil {
		return api.BadRequest("field \"labels\": %w", err)
	}
	// The queue would only log and ignore these when the first async call
	// comes: refused here, the caller learns at once.
	if err := subjects.CheckLabels(d.Labels, d.Annotations); err != nil {
		return err
	}
	return trigger.ValidateAnnotations(d.Annotations)
}
