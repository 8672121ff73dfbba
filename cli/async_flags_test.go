package cli

import (
	"testing"
	"time"

	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/spf13/pflag"
)

// TestSettleBackoff: a min above the max's default raises the max when the
// max was not given; a max given below the min is left for Validate to
// refuse, naming both flags.
func TestSettleBackoff(t *testing.T) {
	for _, c := range []struct {
		args    []string
		wantMax time.Duration
		valid   bool
	}{
		{[]string{"--async-backoff-min=5m"}, 5 * time.Minute, true},
		{[]string{"--async-backoff-min=1s"}, serveconfig.AsyncBackoffMax, true},
		{[]string{"--async-backoff-min=5m", "--async-backoff-max=1m"}, time.Minute, false},
		{nil, serveconfig.AsyncBackoffMax, true},
	} {
		cfg := serveconfig.Defaults()
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		(&workerFlags{}).register(fs, &cfg)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		settleBackoff(fs, &cfg)
		if cfg.AsyncBackoffMax != c.wantMax || (cfg.Validate() == nil) != c.valid {
			t.Errorf("%v: max %s, valid %v; want %s, %v", c.args, cfg.AsyncBackoffMax, cfg.Validate() == nil, c.wantMax, c.valid)
		}
	}
}
