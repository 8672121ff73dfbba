// Package subjects names the NATS subjects the async queue owns and the
// labels that set a function's queue. It is a leaf, so that what must stay
// away from those subjects (the NATS subject trigger's topic check), and
// the gateway's deploy checks, can know them without importing the queue.
package subjects

import (
	"strconv"
	"strings"

	"github.com/ferryfaas/ferry/api"
)

// Prefixes of the queue's subjects (see package queue for the layout).
const (
	Work     = "ferry.async."
	Retry    = "ferry.retry."
	Dead     = "ferry.dead."
	Callback = "ferry.callback."
)

// Reserved are the subjects the queue publishes on, and the inboxes its
// JetStream requests are answered on: nothing else may subscribe to them
// (a subscriber reads every queued call and result, and could answer
// JetStream's requests).
var Reserved = []string{Work + ">", Retry + ">", Dead + ">", Callback + ">", "_INBOX.>"}

// Labels and annotations read from a function (either place).
const (
	// LabelMaxInflight caps concurrent queued calls of a function (or of
	// its named queue) across all workers: 1 to MaxInflight.
	LabelMaxInflight = "com.openfaas.queue.max_inflight"
	// AnnotationQueue puts a function on a named queue shared by every
	// function with the same annotation.
	AnnotationQueue = "com.openfaas.queue"
	// MaxInflight is the largest LabelMaxInflight.
	MaxInflight = 10000
)

// CheckLabels refuses queue settings that would be ignored: a
// LabelMaxInflight that is not a number from 1 to MaxInflight, a queue name
// that is not an RFC 1123 label. The error names the field and the key.
func CheckLabels(labels, annotations map[string]string) error {
	for _, f := range []struct {
		field string
		m     map[string]string
	}{{"labels", labels}, {"annotations", annotations}} {
		if v, ok := f.m[LabelMaxInflight]; ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 1 || n > MaxInflight {
				return api.BadRequest("field %q: %s %q: want a number of calls from 1 to %d", f.field, LabelMaxInflight, v, MaxInflight)
			}
		}
		if v, ok := f.m[AnnotationQueue]; ok {
			if err := api.ValidateName("queue", v); err != nil {
				return api.BadRequest("field %q: %s: %w", f.field, AnnotationQueue, err)
			}
		}
	}
	return nil
}
