package autoscale

import (
	"strings"
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy(nil)
	if err != nil || p.Min != 1 || p.Max != 20 || p.Factor != 10 || p.Type != "rps" || p.Target != 50 || p.Zero {
		t.Fatalf("defaults = %+v, %v", p, err)
	}
	p, err = ParsePolicy(map[string]string{LabelMin: "0", LabelMax: "4", LabelType: "cpu", LabelTarget: "250",
		LabelProportion: "0.5", LabelZero: "true", LabelZeroDuration: "2s", LabelFactor: "100"})
	if err != nil || p.Min != 0 || p.Max != 4 || p.Type != "cpu" || p.Target != 250 || p.Proportion != 0.5 ||
		!p.Zero || p.ZeroDuration != 2*time.Second || p.AlertStep() != 4 {
		t.Fatalf("parsed = %+v, %v", p, err)
	}
	if p, _ := ParsePolicy(map[string]string{LabelZeroDuration: "30"}); p.ZeroDuration != 30*time.Second {
		t.Errorf("bare seconds: %v", p.ZeroDuration)
	}
	bad := []map[string]string{
		{LabelMin: "-1"},
		{LabelMax: "0"},
		{LabelMax: "x"},
		{LabelMin: "5", LabelMax: "2"},
		{LabelFactor: "0"},
		{LabelFactor: "101"},
		{LabelTarget: "-3"},
		{LabelTarget: "NaN"},
		{LabelType: "memory"},
		{LabelProportion: "0"},
		{LabelProportion: "1.5"},
		{LabelZero: "maybe"},
		{LabelZeroDuration: "soon"},
		{LabelZeroDuration: "-5s"},
		{LabelZeroDuration: "0"},
	}
	for _, l := range bad {
		if _, err := ParsePolicy(l); err == nil {
			t.Errorf("%v accepted", l)
		} else if !strings.Contains(err.Error(), "not autoscaled") {
			t.Errorf("%v: unclear error %v", l, err)
		}
	}
	_, err = ParsePolicy(map[string]string{LabelMin: "-1", LabelType: "x"})
	if err == nil || !strings.Contains(err.Error(), LabelMin) || !strings.Contains(err.Error(), LabelType) {
		t.Errorf("all problems should be named at once: %v", err)
	}
}

// TestCheckLabels is the deploy-time check: the same rules as ParsePolicy
// plus the gateway's replica limit, with a message for a 400.
func TestCheckLabels(t *testing.T) {
	for _, c := range []struct {
		labels map[string]string
		want   string // "" means accepted
	}{
		{nil, ""},
		{map[string]string{LabelMin: "3", LabelMax: "1000"}, ""},
		{map[string]string{LabelMin: "50"}, "com.openfaas.scale.min=50 is greater than com.openfaas.scale.max=20"},
		{map[string]string{LabelMax: "-1"}, `com.openfaas.scale.max="-1": want a whole number >= 1`},
		{map[string]string{LabelZero: "maybe"}, `com.openfaas.scale.zero="maybe": want true or false`},
		{map[string]string{LabelMax: "1001"}, "com.openfaas.scale.max=1001 is more than the gateway's limit of 1000 replicas"},
		{map[string]string{LabelMin: "2000", LabelMax: "3000"}, "com.openfaas.scale.min=2000 is more than"},
	} {
		err := CheckLabels(c.labels, 1000)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: refused: %v", c.labels, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: got %v, want %q", c.labels, err, c.want)
		case err != nil && strings.Contains(err.Error(), "not autoscaled"):
			t.Errorf("%v: %v speaks of a deployed function", c.labels, err)
		}
	}
}
