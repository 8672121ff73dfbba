// Package serveconfig holds the numeric settings of `ferry serve`: each
// default is written once here, and Validate refuses a value out of its
// range naming the flag (in the manner of Knative's autoscaler config).
// The flags of `ferry serve` take their defaults from Defaults, and the
// packages that fall back to a default for a zero value (a library user's
// Config) fall back to these same constants, so the two cannot drift.
package serveconfig

import (
	"errors"
	"fmt"
	"time"
)

// The defaults, one per flag (named after it).
const (
	Timeout        = 60 * time.Second
	Drain          = 30 * time.Second
	DrainKeepAlive = time.Second
	MaxBody        = 1 << 20

	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 120 * time.Second
	BodyTimeout       = 30 * time.Second
	MaxInvokeBody     = 64 << 20

	AutoscaleWindow     = 30 * time.Second
	AutoscaleDownPeriod = 5 * time.Second
	WakeTimeout         = 30 * time.Second
	AlertStepPeriod     = 10 * time.Second

	CounterFlush = 5 * time.Second

	LeaderLeaseDuration = 5 * time.Second
	LeaderRenewDeadline = 3 * time.Second
	LeaderRetryPeriod   = time.Second

	AsyncMaxBody              = 1 << 20
	AsyncMaxQueuedPerFunction = 1000
	AsyncMaxQueued            = 100000
	AsyncMaxQueuedBytes       = 1 << 30
	AsyncDeadLetterTTL        = 7 * 24 * time.Hour

	// The queue worker's (serve's own, and `ferry queue-worker`).
	AsyncMaxAttempts      = 8
	AsyncBackoffMin       = 2 * time.Second
	AsyncBackoffMax       = 2 * time.Minute
	AsyncAckWait          = 30 * time.Second
	AsyncConcurrency      = 1024
	AsyncCallbackAttempts = 12 // back-off 1s doubling to 5m: about 20 minutes
	AsyncCallbackPerHost  = 8
	AsyncCallbackDirect   = 5 * time.Second

	TriggerPoll      = 2 * time.Second
	TriggerCronGrace = 10 * time.Minute

	KafkaSessionTimeout = 10 * time.Second
)

// Not flags: the gateway's connections to replicas, alike in its three
// pools (package gateway's lean one and http.Transport, and the event
// loops').
const (
	// UpstreamIdle is how long an idle replica connection is kept.
	UpstreamIdle = 90 * time.Second
	// UpstreamIdlePerReplica is how many idle connections are kept for one
	// replica by a lean pool.
	UpstreamIdlePerReplica = 256
	UpstreamDialTimeout    = 5 * time.Second
	UpstreamKeepAlive      = 30 * time.Second // TCP keep-alive probes
	// ReplayBody is the largest call body held in memory, so that the call
	// can be sent again to another replica when the first one died before
	// answering (the gateway's and the event loops'); such a body must
	// arrive whole within --body-timeout.
	ReplayBody = 64 << 10
)

// Config is the numeric settings of `ferry serve`; each field's tag names
// its flag.
type Config struct {
	Timeout        time.Duration `flag:"timeout"`
	Drain          time.Duration `flag:"drain"`
	DrainKeepAlive time.Duration `flag:"drain-keepalive"`
	MaxBody        int64         `flag:"max-body"`

	ReadHeaderTimeout time.Duration `flag:"read-header-timeout"`
	IdleTimeout       time.Duration `flag:"idle-timeout"`
	BodyTimeout       time.Duration `flag:"body-timeout"`
	MaxConns          int           `flag:"max-conns"`       // (0: from the open-file limit)
	MaxInvokeBody     int64         `flag:"max-invoke-body"` // (0: no limit)
	EventLoops        int           `flag:"event-loops"`     // (0: one per two CPUs)

	AutoscaleWindow     time.Duration `flag:"autoscale-window"`
	AutoscaleDownPeriod time.Duration `flag:"autoscale-down-period"`
	WakeTimeout         time.Duration `flag:"wake-timeout"`
	AlertStepPeriod     time.Duration `flag:"alert-step-period"`

	CounterFlush time.Duration `flag:"counter-flush"`

	LeaderLeaseDuration time.Duration `flag:"leader-lease-duration"`
	LeaderRenewDeadline time.Duration `flag:"leader-renew-deadline"`
	LeaderRetryPeriod   time.Duration `flag:"leader-retry-period"`

	AsyncMaxBody              int64         `flag:"async-max-body"`
	AsyncMaxQueuedPerFunction int64         `flag:"async-max-queued-per-function"`
	AsyncMaxQueued            int64         `flag:"async-max-queued"`
	AsyncMaxQueuedBytes       int64         `flag:"async-max-queued-bytes"`
	AsyncDeadLetterTTL        time.Duration `flag:"async-dead-letter-ttl"`

	AsyncMaxAttempts      int           `flag:"async-max-attempts"`
	AsyncBackoffMin       time.Duration `flag:"async-backoff-min"`
	AsyncBackoffMax       time.Duration `flag:"async-backoff-max"`
	AsyncAckWait          time.Duration `flag:"async-ack-wait"`
	AsyncConcurrency      int           `flag:"async-concurrency"`
	AsyncCallbackAttempts int           `flag:"async-callback-attempts"`
	AsyncCallbackPerHost  int           `flag:"async-callback-per-host"`
	AsyncCallbackDirect   time.Duration `flag:"async-callback-direct"` // (0: queue every callback)

	TriggerPoll      time.Duration `flag:"trigger-poll"`
	TriggerCronGrace time.Duration `flag:"trigger-cron-grace"`

	KafkaSessionTimeout time.Duration `flag:"kafka-session-timeout"`
}

// Defaults is the Config of a `ferry serve` given no flag.
func Defaults() Config {
	return Config{
		Timeout: Timeout, Drain: Drain, DrainKeepAlive: DrainKeepAlive, MaxBody: MaxBody,
		ReadHeaderTimeout: ReadHeaderTimeout, IdleTimeout: IdleTimeout, BodyTimeout: BodyTimeout,
		MaxInvokeBody:   MaxInvokeBody,
		AutoscaleWindow: AutoscaleWindow, AutoscaleDownPeriod: AutoscaleDownPeriod,
		WakeTimeout: WakeTimeout, AlertStepPeriod: AlertStepPeriod,
		CounterFlush:              CounterFlush,
		LeaderLeaseDuration:       LeaderLeaseDuration,
		LeaderRenewDeadline:       LeaderRenewDeadline,
		LeaderRetryPeriod:         LeaderRetryPeriod,
		AsyncMaxBody:              AsyncMaxBody,
		AsyncMaxQueuedPerFunction: AsyncMaxQueuedPerFunction,
		AsyncMaxQueued:            AsyncMaxQueued,
		AsyncMaxQueuedBytes:       AsyncMaxQueuedBytes,
		AsyncDeadLetterTTL:        AsyncDeadLetterTTL,
		AsyncMaxAttempts:          AsyncMaxAttempts,
		AsyncBackoffMin:           AsyncBackoffMin,
		AsyncBackoffMax:           AsyncBackoffMax,
		AsyncAckWait:              AsyncAckWait,
		AsyncConcurrency:          AsyncConcurrency,
		AsyncCallbackAttempts:     AsyncCallbackAttempts,
		AsyncCallbackPerHost:      AsyncCallbackPerHost,
		AsyncCallbackDirect:       AsyncCallbackDirect,
		TriggerPoll:               TriggerPoll,
		TriggerCronGrace:          TriggerCronGrace,
		KafkaSessionTimeout:       KafkaSessionTimeout,
	}
}

// Validate reports every value out of its range, each as
// "--flag: must be RANGE, got VALUE". Zero is refused where a package
// would silently put its default in its place (so a typed 0 is not
// mistaken for "none"), and taken where it has a meaning of its own.
func (c *Config) Validate() error {
	return errors.Join(
		positive("--timeout", c.Timeout),
		notNegative("--drain", c.Drain),
		notNegative("--drain-keepalive", c.DrainKeepAlive),
		positive("--max-body", c.MaxBody),
		positive("--read-header-timeout", c.ReadHeaderTimeout),
		positive("--idle-timeout", c.IdleTimeout),
		positive("--body-timeout", c.BodyTimeout),
		notNegative("--max-conns", c.MaxConns),
		notNegative("--max-invoke-body", c.MaxInvokeBody),
		notNegative("--event-loops", c.EventLoops),
		positive("--autoscale-window", c.AutoscaleWindow),
		positive("--autoscale-down-period", c.AutoscaleDownPeriod),
		positive("--wake-timeout", c.WakeTimeout),
		positive("--alert-step-period", c.AlertStepPeriod),
		positive("--counter-flush", c.CounterFlush),
		// A leader must not lose its lease while it still acts: client-go's
		// own rules (renewing retries jitter up to 1.2 × the period).
		positive("--leader-retry-period", c.LeaderRetryPeriod),
		above("--leader-renew-deadline", c.LeaderRenewDeadline, c.LeaderRetryPeriod*12/10, "1.2 × --leader-retry-period"),
		above("--leader-lease-duration", c.LeaderLeaseDuration, c.LeaderRenewDeadline, "--leader-renew-deadline"),
		positive("--async-max-body", c.AsyncMaxBody),
		positive("--async-max-queued-per-function", c.AsyncMaxQueuedPerFunction),
		positive("--async-max-queued", c.AsyncMaxQueued),
		positive("--async-max-queued-bytes", c.AsyncMaxQueuedBytes),
		positive("--async-dead-letter-ttl", c.AsyncDeadLetterTTL),
		positive("--async-max-attempts", c.AsyncMaxAttempts),
		positive("--async-backoff-min", c.AsyncBackoffMin),
		atLeast("--async-backoff-max", c.AsyncBackoffMax, c.AsyncBackoffMin, "--async-backoff-min"),
		positive("--async-ack-wait", c.AsyncAckWait),
		positive("--async-concurrency", c.AsyncConcurrency),
		positive("--async-callback-attempts", c.AsyncCallbackAttempts),
		positive("--async-callback-per-host", c.AsyncCallbackPerHost),
		notNegative("--async-callback-direct", c.AsyncCallbackDirect),
		positive("--trigger-poll", c.TriggerPoll),
		positive("--trigger-cron-grace", c.TriggerCronGrace),
		positive("--kafka-session-timeout", c.KafkaSessionTimeout),
	)
}

type number interface{ ~int | ~int64 }

func positive[T number](key string, v T) error {
	if v > 0 {
		return nil
	}
	return fmt.Errorf("%s: must be > 0, got %v", key, v)
}

// above refuses v unless it exceeds min, which is what other names.
func above[T number](key string, v, min T, other string) error {
	if v > min {
		return nil
	}
	return fmt.Errorf("%s: must be > %s (%v), got %v", key, other, min, v)
}

// atLeast refuses v below min, which is what other names.
func atLeast[T number](key string, v, min T, other string) error {
	if v >= min {
		return nil
	}
	return fmt.Errorf("%s: must be >= %s (%v), got %v", key, other, min, v)
}

func notNegative[T number](key string, v T) error {
	if v >= 0 {
		return nil
	}
	return fmt.Errorf("%s: must be >= 0, got %v", key, v)
}
