package serveconfig

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultsValidate(t *testing.T) {
	c := Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// Every field has a flag and a default (but those whose zero means
	// "work it out").
	v, typ := reflect.ValueOf(c), reflect.TypeOf(c)
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Tag.Get("flag") == "" {
			t.Errorf("%s names no flag", f.Name)
		}
		if v.Field(i).IsZero() && f.Name != "MaxConns" && f.Name != "EventLoops" && f.Name != "AsyncCallbackDirect" {
			t.Errorf("%s has no default", f.Name)
		}
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.ReadHeaderTimeout = -time.Second }, "--read-header-timeout: must be > 0, got -1s"},
		{func(c *Config) { c.Timeout = 0 }, "--timeout: must be > 0, got 0s"},
		{func(c *Config) { c.IdleTimeout = 0 }, "--idle-timeout: must be > 0, got 0s"},
		{func(c *Config) { c.BodyTimeout = -5 * time.Millisecond }, "--body-timeout: must be > 0, got -5ms"},
		{func(c *Config) { c.Drain = -time.Second }, "--drain: must be >= 0, got -1s"},
		{func(c *Config) { c.DrainKeepAlive = -time.Second }, "--drain-keepalive: must be >= 0, got -1s"},
		{func(c *Config) { c.MaxBody = 0 }, "--max-body: must be > 0, got 0"},
		{func(c *Config) { c.EventLoops = -1 }, "--event-loops: must be >= 0, got -1"},
		{func(c *Config) { c.MaxConns = -2 }, "--max-conns: must be >= 0, got -2"},
		{func(c *Config) { c.MaxInvokeBody = -1 }, "--max-invoke-body: must be >= 0, got -1"},
		{func(c *Config) { c.AutoscaleWindow = 0 }, "--autoscale-window: must be > 0, got 0s"},
		{func(c *Config) { c.WakeTimeout = -time.Minute }, "--wake-timeout: must be > 0, got -1m0s"},
		{func(c *Config) { c.CounterFlush = 0 }, "--counter-flush: must be > 0, got 0s"},
		{func(c *Config) { c.AsyncMaxQueuedBytes = -1 }, "--async-max-queued-bytes: must be > 0, got -1"},
		{func(c *Config) { c.TriggerCronGrace = 0 }, "--trigger-cron-grace: must be > 0, got 0s"},
		{func(c *Config) { c.AsyncConcurrency = -5 }, "--async-concurrency: must be > 0, got -5"},
		{func(c *Config) { c.AsyncCallbackAttempts = 0 }, "--async-callback-attempts: must be > 0, got 0"},
		{func(c *Config) { c.AsyncMaxAttempts = -1 }, "--async-max-attempts: must be > 0, got -1"},
		{func(c *Config) { c.AsyncCallbackPerHost = 0 }, "--async-callback-per-host: must be > 0, got 0"},
		{func(c *Config) { c.AsyncAckWait = 0 }, "--async-ack-wait: must be > 0, got 0s"},
		{func(c *Config) { c.AsyncCallbackDirect = -time.Second }, "--async-callback-direct: must be >= 0, got -1s"},
		{func(c *Config) { c.AsyncBackoffMax = time.Second }, "--async-backoff-max: must be >= --async-backoff-min (2s), got 1s"},
		{func(c *Config) { c.KafkaSessionTimeout = 0 }, "--kafka-session-timeout: must be > 0, got 0s"},
		{func(c *Config) { c.LeaderRetryPeriod = 0 }, "--leader-retry-period: must be > 0, got 0s"},
		{func(c *Config) { c.LeaderRenewDeadline = time.Second }, "--leader-renew-deadline: must be > 1.2 × --leader-retry-period (1.2s), got 1s"},
		{func(c *Config) { c.LeaderLeaseDuration = 3 * time.Second }, "--leader-lease-duration: must be > --leader-renew-deadline (3s), got 3s"},
	} {
		c := Defaults()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	// Each bad value is named, one a line.
	c := Defaults()
	c.Timeout, c.MaxConns = -1, -1
	if err := c.Validate(); err == nil || strings.Count(err.Error(), "\n") != 1 ||
		!strings.Contains(err.Error(), "--timeout:") || !strings.Contains(err.Error(), "--max-conns:") {
		t.Fatalf("two bad values: %v", err)
	}
	// Zero where it means something of its own is taken.
	c = Defaults()
	c.MaxConns, c.EventLoops, c.MaxInvokeBody, c.Drain, c.DrainKeepAlive = 0, 0, 0, 0, 0
	c.AsyncCallbackDirect, c.AsyncBackoffMax = 0, c.AsyncBackoffMin
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
