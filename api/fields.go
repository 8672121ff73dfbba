package api

import (
	"regexp"
	"sort"
	"strings"
)

// Size limits of a deployment's free-form fields. Environment variables
// reach the function through execve, which refuses one "NAME=value" over
// 128 KiB (MAX_ARG_STRLEN) and all of them over a quarter of the stack
// limit, so a bigger value only showed up as a crash loop. Label and
// annotation totals follow Kubernetes (256 KiB of annotations; label
// values there are at most 63 characters, so 1 KiB refuses nothing a
// faas-netes user could deploy).
const (
	MaxEnvValue         = 64 << 10
	MaxEnvTotal         = 256 << 10 // names and values together
	MaxEnvProcess       = 16 << 10
	MaxLabelValue       = 1 << 10
	MaxLabelsTotal      = 64 << 10
	MaxAnnotationsTotal = 256 << 10
	MaxListItems        = 100     // secrets, constraints
	MaxSecretBytes      = 1 << 20 // a secret's value, as Kubernetes
)

var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validateEnvProcess refuses control characters: the watchdog runs the
// value as one command line, and a newline or NUL silently cuts or
// splits it.
func validateEnvProcess(s string) error {
	switch {
	case len(s) > MaxEnvProcess:
		return BadRequest("field \"envProcess\": %d bytes long; the limit is %d", len(s), MaxEnvProcess)
	case hasControl(s, true):
		return BadRequest("field \"envProcess\": %q contains a newline or another control character; give one command line (use a script for several)", short(s))
	}
	return nil
}

func validateEnv(env map[string]string) error {
	total := 0
	for _, k := range sortedKeys(env) {
		v := env[k]
		switch {
		case !envKey.MatchString(k):
			return BadRequest("field \"envVars\": %q is not a valid environment variable name", short(k))
		case strings.IndexByte(v, 0) >= 0:
			return BadRequest("field \"envVars.%s\": the value contains a NUL byte, which an environment variable cannot hold", k)
		case len(v) > MaxEnvValue:
			return BadRequest("field \"envVars.%s\": the value is %d bytes; the limit is %d (mount large data as a secret instead)", k, len(v), MaxEnvValue)
		}
		total += len(k) + len(v) + 2
	}
	if total > MaxEnvTotal {
		return BadRequest("field \"envVars\": %d bytes in all; the limit is %d (mount large data as a secret instead)", total, MaxEnvTotal)
	}
	return nil
}

// validateList checks a list's length and each item.
func validateList(field string, list []string, check func(string) error) error {
	if len(list) > MaxListItems {
		return BadRequest("field %q: %d items; the limit is %d", field, len(list), MaxListItems)
	}
	for _, s := range list {
		if err := check(s); err != nil {
			return fieldErr(field, err)
		}
	}
	return nil
}

func validateConstraint(s string) error {
	if s == "" || len(s) > MaxLabelValue || hasControl(s, false) {
		return BadRequest("%q is not a constraint such as node.platform.os == linux", short(s))
	}
	return nil
}

// validateMeta checks labels or annotations: valid keys, values without
// NUL (labels: no control character at all), sizes within the limits.
func validateMeta(field string, m map[string]string, labels bool) error {
	maxValue, maxTotal := MaxAnnotationsTotal, MaxAnnotationsTotal
	if labels {
		maxValue, maxTotal = MaxLabelValue, MaxLabelsTotal
	}
	total := 0
	for _, k := range sortedKeys(m) {
		v := m[k]
		if err := validateLabelKey(k); err != nil {
			return BadRequest("field %q: %v", field, err)
		}
		switch {
		case labels && hasControl(v, false):
			return BadRequest("field \"%s.%s\": the value contains a control character", field, k)
		case strings.IndexByte(v, 0) >= 0:
			return BadRequest("field \"%s.%s\": the value contains a NUL byte", field, k)
		case len(v) > maxValue:
			return BadRequest("field \"%s.%s\": the value is %d bytes; the limit is %d", field, k, len(v), maxValue)
		}
		total += len(k) + len(v)
	}
	if total > maxTotal {
		return BadRequest("field %q: %d bytes in all; the limit is %d", field, total, maxTotal)
	}
	return nil
}

// hasControl reports an ASCII control character (tab allowed when
// tabOK).
func hasControl(s string, tabOK bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && !(tabOK && c == '\t')) || c == 0x7f {
			return true
		}
	}
	return false
}

// sortedKeys makes the first bad entry reported the same on every call.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
