package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
	"github.com/ferryfaas/ferry/ui/uitest"
)

// The portal scenario: page weight and time to first render of
// the web portal served by the real `ferry serve`, measured in headless
// Chromium from the network events and the browser's performance entries.
// Three functions are deployed so the list has rows to render.
func init() { Register(Scenario{Name: "portal", Order: 70, Run: runPortal}) }

const (
	portalBudgetKB = 300.0
	portalBudgetMs = 300.0
)

func runPortal(ctx context.Context, env *Env) ([]Row, error) {
	if _, err := uitest.FindChromium(); err != nil {
		return nil, err
	}
	f, err := harness.Start(harness.Options{})
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	for _, name := range []string{"cat", "cat-2", "cat-3"} {
		if err := Deploy(f, map[string]any{"service": name, "image": "cat", "envProcess": "cat"}); err != nil {
			return nil, err
		}
	}
	profile, err := os.MkdirTemp("", "ferry-bench-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	runs := 7
	if env.Quick {
		runs = 3
	}
	w, err := uitest.Measure(ctx, f.URL, f.User, f.Password, profile, runs)
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		env.Logf("   portal: load average %s (browser timings are CPU-bound on a busy host)", strings.Join(strings.Fields(string(b))[:3], " "))
	}
	env.Logf("   portal (median of %d): cold %.1f KB, first paint %v, sign-in to list %v, reload %.1f KB to list %v",
		w.Runs, w.ColdBytes/1024, w.FirstPaint, w.LoginToList, w.ReloadBytes/1024, w.ReloadToList)
	kb := w.ColdBytes / 1024
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 }
	row := func(c, metric string, v float64, unit string, budget float64) Row {
		return Row{Case: c, Metric: metric, Value: v, Unit: unit, Ratio: v / budget,
			Target: fmt.Sprintf("<= %.0f %s", budget, unit), Met: v <= budget}
	}
	return []Row{
		row("cold sign-in (empty cache)", "transferred", kb, "KB", portalBudgetKB),
		row("cold /ui/ -> login page", "first contentful paint", ms(w.FirstPaint), "ms", portalBudgetMs),
		row("sign in -> function list", "render", ms(w.LoginToList), "ms", portalBudgetMs),
		row("reload /ui/ (warm) -> function list", "render", ms(w.ReloadToList), "ms", portalBudgetMs),
		{Case: "reload /ui/ (warm)", Metric: "transferred", Value: w.ReloadBytes / 1024, Unit: "KB"},
	}, nil
}
