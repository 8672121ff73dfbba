package stack

import (
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"A": "a", "E": ""}[k]
		return v, ok
	}
	cases := map[string]string{
		"$A ${A} x$A":       "a a xa",
		"$1 $(pwd) $ $-":    "$1 $(pwd) $ $-",
		"$$A":               "$A",
		"${E:-d} ${E-d}":    "d ",
		"${U:-${A}}":        "a",
		"${U:=v}":           "v",
		"${A:+y}${U:+y}":    "y",
		"trailing $":        "trailing $",
		"multi\nline ${A}!": "multi\nline a!",
	}
	for in, want := range cases {
		got, err := expand(in, env)
		if err != nil || got != want {
			t.Errorf("expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"a\nb\n${U:?needed}": "line 3: environment variable U needed",
		"\n${A":              "line 2:",
		"${1}":               "line 1: ${1} is not a variable reference",
		"${A%x}":             "unknown operator",
	} {
		_, err := expand(in, env)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("expand(%q) error = %v; want it to contain %q", in, err, want)
		}
	}
}
