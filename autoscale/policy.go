// Package autoscale scales functions: a built-in autoscaler that samples
// each function's load every second and sets replicas from its
// com.openfaas.scale.* labels, scale to zero when idle and back on the next
// request (Waker), and the Alertmanager webhook sink POST /system/alert.
//
// A function opts in to load-based scaling with com.openfaas.scale.target
// or .type, and to idling with .zero=true; others keep the replicas they
// are given. Invalid scaling labels never fall back to silent defaults: the function
// is left alone and the problem is reported as a "ScaleLabels" condition in
// its status and in the log.
package autoscale

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Label keys (contract section 5).
const (
	LabelMin          = "com.openfaas.scale.min"
	LabelMax          = "com.openfaas.scale.max"
	LabelFactor       = "com.openfaas.scale.factor"
	LabelTarget       = "com.openfaas.scale.target"
	LabelType         = "com.openfaas.scale.type"
	LabelProportion   = "com.openfaas.scale.target-proportion"
	LabelZero         = "com.openfaas.scale.zero"
	LabelZeroDuration = "com.openfaas.scale.zero-duration"
)

// Scaling types.
const (
	TypeRPS      = "rps"      // requests started per second, per replica
	TypeCapacity = "capacity" // requests in flight, per replica
	TypeCPU      = "cpu"      // CPU millicores, per replica
)

// Defaults follow OpenFaaS where it has one.
const (
	DefaultMin          = 1
	DefaultMax          = 20
	DefaultFactor       = 10
	DefaultTarget       = 50
	DefaultType         = TypeRPS
	DefaultProportion   = 0.90
	DefaultZeroDuration = 15 * time.Minute
)

// Policy is a function's parsed scaling labels.
type Policy struct {
	Min, Max uint64
	Factor   uint64 // percent of Max added per firing alert
	Target   float64
	// Managed is true when the labels ask for load-based scaling (a target
	// or a type is set). Other functions keep the replicas they are given
	// (manual scaling sticks, as in OpenFaaS CE), apart from scale to zero.
	Managed      bool
	Type         string
	Proportion   float64
	Zero         bool
	ZeroDuration time.Duration
}

// AlertStep is how many replicas one firing alert adds: ceil(max*factor/100).
func (p Policy) AlertStep() uint64 {
	return max(1, uint64(math.Ceil(float64(p.Max)*float64(p.Factor)/100)))
}

// ParsePolicy reads the scaling labels; every invalid one is named in the
// error, so a user can fix them all at once.
func ParsePolicy(labels map[string]string) (Policy, error) {
	p, errs := parsePolicy(labels)
	if len(errs) > 0 {
		return Policy{}, errors.New("invalid scaling labels, the function is not autoscaled until they are fixed: " + strings.Join(errs, "; "))
	}
	return p, nil
}

// CheckLabels is ParsePolicy for the API's edge, where a deployment with
// invalid scaling labels is refused; maxReplicas caps min and max (0: no
// cap).
func CheckLabels(labels map[string]string, maxReplicas uint64) error {
	p, errs := parsePolicy(labels)
	if len(errs) == 0 && maxReplicas > 0 {
		if _, ok := labels[LabelMax]; ok && p.Max > maxReplicas {
			errs = append(errs, fmt.Sprintf("%s=%d is more than the gateway's limit of %d replicas", LabelMax, p.Max, maxReplicas))
		}
		if p.Min > maxReplicas {
			errs = append(errs, fmt.Sprintf("%s=%d is more than the gateway's limit of %d replicas", LabelMin, p.Min, maxReplicas))
		}
	}
	if len(errs) > 0 {
		return errors.New("invalid scaling labels: " + strings.Join(errs, "; "))
	}
	return nil
}

func parsePolicy(labels map[string]string) (Policy, []string) {
	p := Policy{Min: DefaultMin, Max: DefaultMax, Factor: DefaultFactor, Target: DefaultTarget,
		Type: DefaultType, Proportion: DefaultProportion, ZeroDuration: DefaultZeroDuration}
	var errs []string
	bad := func(key, val, want string) { errs = append(errs, fmt.Sprintf("%s=%q: %s", key, val, want)) }
	if v, ok := labels[LabelMin]; ok {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		if err != nil {
			bad(LabelMin, v, "want a whole number >= 0")
		}
		p.Min = n
	}
	if v, ok := labels[LabelMax]; ok {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		if err != nil || n == 0 {
			bad(LabelMax, v, "want a whole number >= 1")
		}
		p.Max = n
	}
	if v, ok := labels[LabelFactor]; ok {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		if err != nil || n == 0 || n > 100 {
			bad(LabelFactor, v, "want a percentage from 1 to 100")
		}
		p.Factor = n
	}
	_, hasTarget := labels[LabelTarget]
	_, hasType := labels[LabelType]
	p.Managed = hasTarget || hasType
	if v, ok := labels[LabelTarget]; ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			bad(LabelTarget, v, "want a number > 0 (per replica)")
		}
		p.Target = f
	}
	if v, ok := labels[LabelType]; ok {
		switch t := strings.TrimSpace(v); t {
		case TypeRPS, TypeCapacity, TypeCPU:
			p.Type = t
		default:
			bad(LabelType, v, "want rps, capacity or cpu")
		}
	}
	if v, ok := labels[LabelProportion]; ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(f > 0) || f > 1 {
			bad(LabelProportion, v, "want a number in (0, 1], e.g. 0.9")
		}
		p.Proportion = f
	}
	if v, ok := labels[LabelZero]; ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			bad(LabelZero, v, "want true or false")
		}
		p.Zero = b
	}
	if v, ok := labels[LabelZeroDuration]; ok {
		d, err := parseDuration(v)
		if err != nil || d <= 0 {
			bad(LabelZeroDuration, v, "want a duration > 0 such as 30s or 15m")
		}
		p.ZeroDuration = d
	}
	if len(errs) == 0 && p.Min > p.Max {
		errs = append(errs, fmt.Sprintf("%s=%d is greater than %s=%d", LabelMin, p.Min, LabelMax, p.Max))
	}
	return p, errs
}

// parseDuration accepts Go durations ("90s", "15m") or bare seconds ("30").
func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(n) || math.IsInf(n, 0) || n > 1e9 {
			return 0, errors.New("out of range")
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	return time.ParseDuration(v)
}
