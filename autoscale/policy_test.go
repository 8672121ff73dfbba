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
