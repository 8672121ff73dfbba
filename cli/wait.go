package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/client"
	"github.com/spf13/pflag"
)

// waitFlags: `ferry deploy` and `ferry up` wait for the deployed version
// to be ready, and fail with the reason (the replica's last output) when it
// cannot start: a deploy that "succeeded" into a crash loop is the first
// trap a new user meets. --no-wait returns as soon as the gateway took it.
type waitFlags struct {
	wait, noWait bool
	timeout      time.Duration
}

func (w *waitFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&w.wait, "wait", true, "wait until every replica runs the new version (and fail with the reason when it cannot start)")
	fs.BoolVar(&w.noWait, "no-wait", false, "return as soon as the gateway accepted the deployment (same as --wait=false)")
	fs.DurationVar(&w.timeout, "wait-timeout", 2*time.Minute, "how long to wait for ready")
}

// waiting says whether to wait for ready.
func (w waitFlags) waiting() bool { return w.wait && !w.noWait }

// failedReasons end a wait at once: the function cannot start by itself.
var failedReasons = map[string]bool{"CannotRun": true, "CrashLoop": true, "PodFailure": true}

// waitReady polls the function until its Ready condition holds (or, with
// no such condition, until its available replicas reach the desired
// count), printing progress when the state changes.
func waitReady(ctx context.Context, c *client.Client, name, namespace string, timeout time.Duration, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	last := ""
	for {
		st, err := c.Get(ctx, name, namespace)
		if err != nil && ctx.Err() == nil {
			return err
		}
		state, done, failed := readiness(st)
		if err == nil {
			if failed {
				return fmt.Errorf("%s cannot start: %s (see `ferry logs %s` and `ferry describe %s`)", name, state, name, name)
			}
			if done {
				fmt.Fprintf(out, "%s is ready (%d/%d) after %.1fs\n", name, st.AvailableReplicas, st.Replicas, time.Since(start).Seconds())
				return nil
			}
			if state != last {
				fmt.Fprintf(out, "  waiting for %s: %s\n", name, state)
				last = state
			}
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s is not ready after %s: %s (see `ferry describe %s`; --wait-timeout waits longer)", name, timeout, last, name)
			}
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// readiness reads a status: a one-line state, whether it is ready, and
// whether it failed for good.
func readiness(st api.FunctionStatus) (state string, ready, failed bool) {
	for _, c := range st.Conditions {
		if c.Type != "Ready" {
			continue
		}
		state = c.Reason
		if c.Message != "" {
			state += ": " + c.Message
		}
		return state, c.Status == "True", c.Status == "False" && failedReasons[c.Reason]
	}
	state = fmt.Sprintf("%d of %d replicas available", st.AvailableReplicas, st.Replicas)
	return state, st.AvailableReplicas >= st.Replicas, false
}
