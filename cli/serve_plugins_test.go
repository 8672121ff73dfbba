package cli

import (
	"slices"
	"testing"
)

// The order of serve's plugins carries what servePlugins says it does:
// reordering the list must not break one of these.
func TestServePluginOrder(t *testing.T) {
	var names []string
	for _, p := range servePlugins() {
		names = append(names, p.Name)
	}
	for _, c := range []struct{ first, then, why string }{
		{"leader", "autoscale", "the Lease is released (leader's OnStop) after the autoscaler stopped"},
		{"metrics", "autoscale", "the counts are flushed after the autoscaler stopped"},
		{"metrics", "async queue", "s.Metrics is set, and flushed after the queue stopped"},
		{"metrics", "triggers", "s.Metrics is set, and flushed after the triggers stopped"},
		{"async queue", "triggers", "the queue stops after the triggers that enqueue on it"},
	} {
		i, j := slices.Index(names, c.first), slices.Index(names, c.then)
		if i < 0 || j < 0 || i > j {
			t.Errorf("%s must come before %s (%s); order: %v", c.first, c.then, c.why, names)
		}
	}
}
