package gateway

import (
	"net/http"

	"github.com/ferryfaas/ferry/api"
)

// listSecrets is GET /system/secrets?namespace=: names only. Values are
// dropped here as well as in the provider, so no provider bug can leak one.
func (g *Gateway) listSecrets(w http.ResponseWriter, r *http.Request) error {
	ns, err := g.namespace(r, "")
	if err != nil {
		return err
	}
	list, err := g.cfg.Provider.ListSecrets(r.Context(), ns)
	if err != nil {
		return err
	}
	out := make([]api.Secret, 0, len(list))
	for _, s := range list {
		if s.Namespace == "" {
			s.Namespace = ns
		}
		out = append(out, api.Secret{Name: s.Name, Namespace: s.Namespace})
	}
	return writeJSON(w, http.StatusOK, out)
}

// createSecret is POST /system/secrets: 202, 409 when it exists.
func (g *Gateway) createSecret(w http.ResponseWriter, r *http.Request) error {
	s, err := g.readSecret(w, r, true)
	if err != nil {
		return err
	}
	if err := g.cfg.Provider.CreateSecret(r.Context(), s); err != nil {
		return err
	}
	return accepted(w)
}

// updateSecret is PUT /system/secrets: 202, 404 when absent.
func (g *Gateway) updateSecret(w http.ResponseWriter, r *http.Request) error {
	s, err := g.readSecret(w, r, true)
	if err != nil {
		return err
	}
	if err := g.cfg.Provider.UpdateSecret(r.Context(), s); err != nil {
		return err
	}
	return accepted(w)
}

// deleteSecret is DELETE /system/secrets with {"name","namespace"}.
func (g *Gateway) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	s, err := g.readSecret(w, r, false)
	if err != nil {
		return err
	}
	if err := g.cfg.Provider.DeleteSecret(r.Context(), s.Namespace, s.Name); err != nil {
		return err
	}
	return accepted(w)
}

// readSecret decodes and validates a Secret body; withValue requires a
// value. When both value and rawValue are given (faas-cli's secret apply
// and create --from-file send the file both ways) rawValue wins, as in
// faas-netes: it is the exact bytes, value may have been trimmed.
func (g *Gateway) readSecret(w http.ResponseWriter, r *http.Request, withValue bool) (api.Secret, error) {
	var s api.Secret
	if err := g.decodeJSON(w, r, &s, `a Secret {"name","value"}`); err != nil {
		return s, err
	}
	if err := api.ValidateName("secret", s.Name); err != nil {
		return s, fieldError("name", err)
	}
	ns, err := g.namespace(r, s.Namespace)
	if err != nil {
		return s, err
	}
	s.Namespace = ns
	if !withValue {
		return s, nil
	}
	field, size := "value", len(s.Value)
	if len(s.RawValue) != 0 {
		s.Value, field, size = "", "rawValue", len(s.RawValue)
	}
	switch {
	case size == 0:
		return s, api.BadRequest("field \"value\": secret %q has no value: give value (a string) or rawValue (base64)", s.Name)
	case size > api.MaxSecretBytes:
		return s, api.BadRequest("field %q: the secret is %d bytes; the limit is %d", field, size, api.MaxSecretBytes)
	}
	return s, nil
}
