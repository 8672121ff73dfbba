package api

import (
	"strings"
	"testing"
)

// quantityCase is one input of a quantity parser: the value it must give,
// or the error message it must give instead.
type quantityCase struct {
	in   string
	want int64
	err  string // the whole message; "" means accepted
}

func checkQuantities(t *testing.T, name string, parse func(string) (int64, error), cases []quantityCase) {
	t.Helper()
	for _, c := range cases {
		got, err := parse(c.in)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s(%q): %v, want %d", name, c.in, err, c.want)
		case c.err == "" && got != c.want:
			t.Errorf("%s(%q) = %d, want %d", name, c.in, got, c.want)
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%s(%q) = %d, %v; want the error %q", name, c.in, got, err, c.err)
		}
	}
}

func TestParseMemory(t *testing.T) {
	notMem := func(s, hint string) string { return `"` + s + `" is not a memory quantity such as 128Mi or 1Gi` + hint }
	checkQuantities(t, "ParseMemory", ParseMemory, []quantityCase{
		{"1048576", 1 << 20, ""},
		{"128Mi", 128 << 20, ""},
		{"1Gi", 1 << 30, ""},
		{"0.5Gi", 512 << 20, ""},
		{"64Ki", 64 << 10, ""},
		{"1Ti", 1 << 40, ""},
		{"1k", 1000, ""},
		{"1K", 1000, ""},
		{"100M", 100e6, ""},
		{"2G", 2e9, ""},
		{"1T", 1e12, ""},
		{"1", 1, ""}, // parses; CheckMemory refuses it
		{"1024Ti", 1 << 50, ""},
		{"", 0, notMem("", "")},
		{"Mi", 0, notMem("Mi", "")},
		{"0", 0, notMem("0", "")},
		{"-1Mi", 0, notMem("-1Mi", "")},
		{"-128mb", 0, notMem("-128mb", "")},
		{"0mb", 0, notMem("0mb", "")},
		{"1025Ti", 0, notMem("1025Ti", "")},
		{"lots", 0, notMem("lots", "")},
		{"128mb", 0, notMem("128mb", "; did you mean 128Mi?")},
		{"128MB", 0, notMem("128MB", "; did you mean 128Mi?")},
		{"128m", 0, notMem("128m", "; did you mean 128Mi?")},
		{"128MiB", 0, notMem("128MiB", "; did you mean 128Mi?")},
		{"1gb", 0, notMem("1gb", "; did you mean 1Gi?")},
		{"1g", 0, notMem("1g", "; did you mean 1Gi?")},
		{"512kb", 0, notMem("512kb", "; did you mean 512Ki?")},
		{"10xb", 0, notMem("10xb", "")},
		{strings.Repeat("9", 100), 0, notMem(strings.Repeat("9", 77)+"...", "")},
	})
}

func TestCheckMemory(t *testing.T) {
	checkQuantities(t, "CheckMemory", CheckMemory, []quantityCase{
		{"6Mi", MinMemory, ""},
		{"128Mi", 128 << 20, ""},
		{"6291456", MinMemory, ""},
		{"128", 0, `"128" is 128 bytes; did you mean 128Mi? the minimum is 6Mi`},
		{"6", 0, `"6" is 6 bytes; did you mean 6Mi? the minimum is 6Mi`},
		{"5", 0, `"5" is 5 bytes; the minimum is 6Mi`},
		{"5Mi", 0, `"5Mi" is 5242880 bytes; the minimum is 6Mi`},
		{"1k", 0, `"1k" is 1000 bytes; the minimum is 6Mi`},
		{"128mb", 0, `"128mb" is not a memory quantity such as 128Mi or 1Gi; did you mean 128Mi?`},
	})
}

func TestParseCPU(t *testing.T) {
	notCPU := func(s string) string { return `"` + s + `" is not a CPU quantity such as 500m or 2` }
	checkQuantities(t, "ParseCPU", ParseCPU, []quantityCase{
		{"500m", 500, ""},
		{"1", 1000, ""},
		{"2", 2000, ""},
		{"0.25", 250, ""},
		{"1m", 1, ""}, // parses; CheckCPU refuses it
		{"10000", 1e7, ""},
		{"", 0, notCPU("")},
		{"m", 0, notCPU("m")},
		{"0", 0, notCPU("0")},
		{"-1", 0, notCPU("-1")},
		{"0.5m", 0, notCPU("0.5m")},
		{"0.0001", 0, notCPU("0.0001")},
		{"10001", 0, notCPU("10001")},
		{"500mi", 0, notCPU("500mi")},
		{"two", 0, notCPU("two")},
	})
}

func TestCheckCPU(t *testing.T) {
	under := func(s string) string {
		return `"` + s + `" is under the minimum of 10m (a cgroup cannot give less than 1ms every 100ms)`
	}
	checkQuantities(t, "CheckCPU", CheckCPU, []quantityCase{
		{"10m", MinCPUMilli, ""},
		{"0.01", MinCPUMilli, ""},
		{"500m", 500, ""},
		{"9m", 0, under("9m")},
		{"1m", 0, under("1m")},
		{"0.005", 0, under("0.005")},
		{"nope", 0, `"nope" is not a CPU quantity such as 500m or 2`},
	})
}
