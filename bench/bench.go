// Package bench is Ferry's benchmark runner: scenarios register themselves
// (one file each), every scenario runs in ONE invocation against binaries
// built from this tree, and all figures print as one table where each row
// stands beside its baseline from the same run, as a ratio, and its target.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Scenario is one group of benchmark rows.
type Scenario struct {
	Name string
	// Order sorts scenarios in the table (lower first).
	Order int
	Run   func(ctx context.Context, env *Env) ([]Row, error)
}

// Row is one figure of the table.
type Row struct {
	Scenario string
	Case     string  // e.g. "gateway c=16"
	Metric   string  // e.g. "req/s", "p50", "cpu/req"
	Value    float64 // in Unit
	Unit     string  // "req/s", "ms", "us", "MB", "KB"
	// Baseline is what Value is compared with (same run), e.g. "watchdog c=16";
	// empty when the row is absolute and compared with a target only.
	Baseline      string
	BaselineValue float64
	// Ratio is Value/BaselineValue (or Value/Target for absolute rows); set
	// by the scenario because "better" may be higher or lower.
	Ratio float64
	// Target is the goal set for the figure, as text, e.g. ">= 0.35x" or "<= 20 ms".
	Target string
	// Met reports whether the target was reached.
	Met bool
}

// Env is what a scenario gets.
type Env struct {
	// BinDir holds ferry and watchdog built from this tree.
	BinDir string
	// Quick shortens durations (smoke run in tests).
	Quick bool
	// Log receives progress lines.
	Log io.Writer
}

// Dur scales a duration down in quick mode.
func (e *Env) Dur(d time.Duration) time.Duration {
	if e.Quick {
		return d / 10
	}
	return d
}

// Logf prints a progress line.
func (e *Env) Logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, format+"\n", args...)
	}
}

var scenarios []Scenario

// Register adds a scenario; call it from init in the scenario's file.
func Register(s Scenario) { scenarios = append(scenarios, s) }

// Scenarios returns the registered scenarios in table order.
func Scenarios() []Scenario {
	out := append([]Scenario(nil), scenarios...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out
}

// selected reports whether filter picks the scenario called name.
func selected(name, filter string) bool {
	if filter == "" {
		return true
	}
	for part := range strings.SplitSeq(filter, ",") {
		if part = strings.TrimSpace(part); part != "" && strings.Contains(name, part) {
			return true
		}
	}
	return false
}

// RunAll runs the scenarios whose name contains filter, or one of its
// comma-separated parts ("wasm,containerd": figures of several scenarios
// from one run), all when it is empty, and returns every row; a failing
// scenario adds an error row and the run goes on.
func RunAll(ctx context.Context, env *Env, filter string) []Row {
	var rows []Row
	for _, s := range Scenarios() {
		if !selected(s.Name, filter) {
			continue
		}
		env.Logf("== %s", s.Name)
		start := time.Now()
		r, err := s.Run(ctx, env)
		for i := range r {
			if r[i].Scenario == "" {
				r[i].Scenario = s.Name
			}
		}
		rows = append(rows, r...)
		if err != nil {
			env.Logf("   %s failed: %v", s.Name, err)
			rows = append(rows, Row{Scenario: s.Name, Case: "ERROR", Metric: err.Error()})
		}
		env.Logf("   %s took %s", s.Name, time.Since(start).Round(time.Millisecond))
	}
	return rows
}

// PrintTable writes rows as a Markdown table.
func PrintTable(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| scenario\t| case\t| metric\t| value\t| baseline (same run)\t| ratio\t| target\t| met\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---:\t|---\t|---:\t|---\t|---\t|")
	for _, r := range rows {
		if r.Case == "ERROR" {
			fmt.Fprintf(tw, "| %s\t| ERROR\t| %s\t|\t|\t|\t|\t| no\t|\n", r.Scenario, r.Metric)
			continue
		}
		base := ""
		if r.Baseline != "" {
			base = fmt.Sprintf("%s: %s %s", r.Baseline, num(r.BaselineValue), r.Unit)
		}
		ratio := ""
		if r.Ratio != 0 {
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		met := ""
		if r.Target != "" {
			met = "no"
			if r.Met {
				met = "yes"
			}
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s %s\t| %s\t| %s\t| %s\t| %s\t|\n",
			r.Scenario, r.Case, r.Metric, num(r.Value), r.Unit, base, ratio, r.Target, met)
	}
	tw.Flush()
}

func num(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// Machine describes the host for the benchmark table (docs/performance.md).
func Machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	n := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n = strings.Count(string(b), "processor\t:")
	}
	return fmt.Sprintf("%d x %s, %s", n, cpu, time.Now().UTC().Format("2006-01-02"))
}
