package api

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// MaxNameLength is the RFC 1123 label limit (Kubernetes object names of
// Services are labels, so functions share the limit).
const MaxNameLength = 63

var rfc1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidateName checks a function, secret or namespace name: an RFC 1123
// label, so it is safe as a path element, a Kubernetes name and a DNS label.
func ValidateName(kind, name string) error {
	switch {
	case name == "":
		return Errorf(http.StatusBadRequest, "%s name is required", kind)
	case len(name) > MaxNameLength:
		return Errorf(http.StatusBadRequest, "%s name %q is %d characters long; the limit is %d", kind, short(name), len(name), MaxNameLength)
	case !rfc1123.MatchString(name):
		return Errorf(http.StatusBadRequest, "%s name %q is invalid: use lower-case letters, digits and '-', starting and ending with a letter or digit (RFC 1123)", kind, short(name))
	}
	return nil
}

// SplitFunctionName splits "name.namespace" at the last dot. A name without
// a dot returns def as the namespace.
func SplitFunctionName(s, def string) (name, namespace string) {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, def
}

// Validate checks a deployment and fills in defaults. The message of the
// returned error names the field at fault.
func (d *FunctionDeployment) Validate(defaultNamespace string) error {
	if d.Namespace == "" {
		d.Namespace = defaultNamespace
	}
	if err := ValidateName("function", d.Service); err != nil {
		return fieldErr("service", err)
	}
	if err := ValidateName("namespace", d.Namespace); err != nil {
		return fieldErr("namespace", err)
	}
	if strings.TrimSpace(d.Image) == "" {
		return BadRequest("field \"image\": image is required")
	}
	if len(d.Image) > 1024 || strings.Contains(d.Image, " ") || hasControl(d.Image, false) {
		return BadRequest("field \"image\": %q is not a valid image reference", short(d.Image))
	}
	if err := validateEnvProcess(d.EnvProcess); err != nil {
		return err
	}
	if err := validateEnv(d.EnvVars); err != nil {
		return err
	}
	if err := validateList("secrets", d.Secrets, func(s string) error { return ValidateName("secret", s) }); err != nil {
		return err
	}
	if err := validateList("constraints", d.Constraints, validateConstraint); err != nil {
		return err
	}
	if err := validateMeta("labels", d.Labels, true); err != nil {
		return err
	}
	if err := validateMeta("annotations", d.Annotations, false); err != nil {
		return err
	}
	if err := d.Limits.validate("limits"); err != nil {
		return err
	}
	if err := d.Requests.validate("requests"); err != nil {
		return err
	}
	return requestsWithinLimits(d.Requests, d.Limits)
}

// Validate checks a namespace's labels and annotations (its name is
// checked where it is read: the path or the body).
func (n *Namespace) Validate() error {
	if err := validateMeta("labels", n.Labels, true); err != nil {
		return err
	}
	return validateMeta("annotations", n.Annotations, false)
}

func (r *Resources) validate(field string) error {
	if r == nil {
		return nil
	}
	if r.Memory != "" {
		if _, err := CheckMemory(r.Memory); err != nil {
			return BadRequest("field \"%s.memory\": %v", field, err)
		}
	}
	if r.CPU != "" {
		if _, err := CheckCPU(r.CPU); err != nil {
			return BadRequest("field \"%s.cpu\": %v", field, err)
		}
	}
	for k, v := range r.Extra {
		if err := validateLabelKey(k); err != nil {
			return BadRequest("field %q: %v", field, err)
		}
		if len(v) > MaxLabelValue || hasControl(v, false) {
			return BadRequest("field \"%s.%s\": %q is not a quantity", field, k, short(v))
		}
	}
	return nil
}

// requestsWithinLimits refuses a request above its limit, as Kubernetes
// does: the function could never get what it asks for.
func requestsWithinLimits(req, lim *Resources) error {
	if req == nil || lim == nil {
		return nil
	}
	if req.Memory != "" && lim.Memory != "" {
		r, _ := ParseMemory(req.Memory)
		l, _ := ParseMemory(lim.Memory)
		if r > l {
			return BadRequest("field \"requests.memory\": %q is more than limits.memory %q; lower the request or raise the limit", req.Memory, lim.Memory)
		}
	}
	if req.CPU != "" && lim.CPU != "" {
		r, _ := ParseCPU(req.CPU)
		l, _ := ParseCPU(lim.CPU)
		if r > l {
			return BadRequest("field \"requests.cpu\": %q is more than limits.cpu %q; lower the request or raise the limit", req.CPU, lim.CPU)
		}
	}
	return nil
}

var labelKey = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

func validateLabelKey(k string) error {
	if len(k) == 0 || len(k) > 316 || !labelKey.MatchString(k) {
		return fmt.Errorf("%q is not a valid key (prefix/name of letters, digits, '-', '_', '.')", short(k))
	}
	return nil
}

func fieldErr(field string, err error) error {
	return Errorf(StatusOf(err), "field %q: %v", field, err)
}

func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
