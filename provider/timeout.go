package provider

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a watchdog-style duration: "10s", "1m30s" or a bare
// number of seconds ("10").
func ParseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n * float64(time.Second)), true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// TimeoutOf is the gateway's timeout for one function: the largest of the
// function's exec_timeout, write_timeout and read_timeout env vars (the
// watchdog enforces the exact value; the gateway must not cut it short),
// plus a small margin. Zero means "use the gateway default".
func TimeoutOf(env map[string]string) time.Duration {
	var max time.Duration
	for _, k := range []string{"exec_timeout", "write_timeout", "read_timeout"} {
		if d, ok := ParseDuration(env[k]); ok && d > max {
			max = d
		}
	}
	if max == 0 {
		return 0
	}
	return max + 500*time.Millisecond
}

// EndsWithin waits until done is closed, for at most grace or until ctx
// ends, and says whether it was closed: a replica's Stop gives its
// watchdog grace to drain before it kills it.
func EndsWithin(ctx context.Context, done <-chan struct{}, grace time.Duration) bool {
	t := time.NewTimer(max(grace, 0))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}
