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

var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

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
	if len(d.Image) > 1024 || strings.ContainsAny(d.Image, " \t\r\n") {
		return BadRequest("field \"image\": %q is not a valid image reference", short(d.Image))
	}
	for k := range d.EnvVars {
		if !envKey.MatchString(k) {
			return BadRequest("field \"envVars\": %q is not a valid environment variable name", short(k))
		}
	}
	for _, s := range d.Secrets {
		if err := ValidateName("secret", s); err != nil {
			return fieldErr("secrets", err)
		}
	}
	for k := range d.Labels {
		if err := validateLabelKey(k); err != nil {
			return BadRequest("field \"labels\": %v", err)
		}
	}
	for k := range d.Annotations {
		if err := validateLabelKey(k); err != nil {
			return BadRequest("field \"annotations\": %v", err)
		}
	}
	if err := d.Limits.validate("limits"); err != nil {
		return err
	}
	return d.Requests.validate("requests")
}

func (r *Resources) validate(field string) error {
	if r == nil {
		return nil
	}
	if r.Memory != "" {
		if _, err := ParseMemory(r.Memory); err != nil {
			return BadRequest("field \"%s.memory\": %v", field, err)
		}
	}
	if r.CPU != "" {
		if _, err := ParseCPU(r.CPU); err != nil {
			return BadRequest("field \"%s.cpu\": %v", field, err)
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
