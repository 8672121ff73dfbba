package cli

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/ferryfaas/ferry/internal/serveconfig"
)

// Every numeric setting of serve is a flag whose default (as --help shows
// it) is serveconfig's, and those defaults are the ones serve had before
// they were gathered there.
func TestServeFlagDefaultsAreServeconfigs(t *testing.T) {
	isolate(t)
	before := map[string]string{
		"timeout": "1m0s", "drain": "30s", "max-body": "1048576",
		"read-header-timeout": "10s", "idle-timeout": "2m0s", "body-timeout": "30s",
		"max-conns": "0", "max-invoke-body": "67108864", "event-loops": "0",
		"autoscale-window": "30s", "autoscale-down-period": "5s", "wake-timeout": "30s", "alert-step-period": "10s",
		"counter-flush":         "5s",
		"leader-lease-duration": "5s", "leader-renew-deadline": "3s", "leader-retry-period": "1s",
		"async-max-body": "1048576", "async-max-queued-per-function": "1000", "async-max-queued": "100000",
		"async-max-queued-bytes": "1073741824", "async-dead-letter-ttl": "168h0m0s",
		"trigger-poll": "2s", "trigger-cron-grace": "10m0s",
		"drain-keepalive":    "1s", // (new with the drain's keep-alive phase)
		"async-max-attempts": "8", "async-backoff-min": "2s", "async-backoff-max": "2m0s", "async-ack-wait": "30s",
		"async-concurrency": "1024", "async-callback-attempts": "12", "async-callback-per-host": "8",
		"async-callback-direct": "5s",
		"kafka-session-timeout": "10s",
	}
	cmd, _, err := NewRoot().Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	def := serveconfig.Defaults()
	v, typ := reflect.ValueOf(def), reflect.TypeOf(def)
	for i := range typ.NumField() {
		name := typ.Field(i).Tag.Get("flag")
		f := cmd.Flags().Lookup(name)
		if f == nil {
			t.Errorf("serve has no --%s (serveconfig.Config.%s)", name, typ.Field(i).Name)
			continue
		}
		if want := fmt.Sprint(v.Field(i).Interface()); f.DefValue != want {
			t.Errorf("--%s: --help shows %s, serveconfig.Defaults has %s", name, f.DefValue, want)
		}
		if f.DefValue != before[name] {
			t.Errorf("--%s: default %s, was %s", name, f.DefValue, before[name])
		}
		delete(before, name)
	}
	for name := range before {
		t.Errorf("--%s is not in serveconfig.Config", name)
	}
}

// A value out of range is refused before anything starts, naming the flag
// and the range.
func TestServeRefusesOutOfRange(t *testing.T) {
	isolate(t)
	for _, tc := range [][2]string{
		{"--read-header-timeout=-1s", "--read-header-timeout: must be > 0, got -1s"},
		{"--idle-timeout=0s", "--idle-timeout: must be > 0, got 0s"},
		{"--async-max-queued=0", "--async-max-queued: must be > 0, got 0"},
		{"--autoscale-window=-2s", "--autoscale-window: must be > 0, got -2s"},
		{"--drain-keepalive=-1s", "--drain-keepalive: must be >= 0, got -1s"},
		{"--leader-renew-deadline=6s", "--leader-lease-duration: must be > --leader-renew-deadline (6s), got 5s"},
	} {
		runCLI(t, "", "serve", tc[0], "--listen", "127.0.0.1:0").fails(t, tc[1])
	}
	// The queue worker's settings are refused by either command that has
	// them (they were taken as their defaults).
	for _, tc := range [][2]string{
		{"--async-concurrency=-5", "--async-concurrency: must be > 0, got -5"},
		{"--async-callback-attempts=0", "--async-callback-attempts: must be > 0, got 0"},
		{"--async-backoff-max=1s", "--async-backoff-max: must be >= --async-backoff-min (2s), got 1s"},
	} {
		runCLI(t, "", "serve", tc[0], "--listen", "127.0.0.1:0").fails(t, tc[1])
		runCLI(t, "", "queue-worker", tc[0], "--nats-url", "nats://127.0.0.1:1").fails(t, tc[1])
	}
	runCLI(t, "", "trigger", "kafka", "--kafka-brokers", "127.0.0.1:1", "--kafka-session-timeout=0s").fails(t, "--kafka-session-timeout: must be > 0, got 0s")
	runCLI(t, "", "queue-worker", "--drain=-1s", "--nats-url", "nats://127.0.0.1:1").fails(t, "--drain: must be >= 0, got -1s")
}
