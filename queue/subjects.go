package queue

import (
	"strings"

	"github.com/ferryfaas/ferry/queue/subjects"
)

// Layout of the JetStream objects (all created idempotently by Setup):
//
//	stream FERRY_ASYNC (work queue retention, file storage)
//	  ferry.async.fn.<ns>.<name>  one subject + durable consumer per function
//	  ferry.async.q.<queue>       a named queue (annotation com.openfaas.queue)
//	  ferry.retry.<token>         calls waiting out their back-off
//	stream FERRY_ASYNC_DEAD (limits retention)
//	  ferry.dead.<ns>.<name>      calls that used up their attempts
//	object store FERRY_ASYNC_BODIES: bodies too large to travel inline
//
// Every queue has its own consumer, so the consumer's MaxAckPending is the
// queue's concurrency limit across all workers, and a slow or failing
// function never holds up another one. Calls in back-off sit on the retry
// subject, not on their queue's consumer, so they take no concurrency slot.
const (
	StreamWork   = "FERRY_ASYNC"
	StreamDead   = "FERRY_ASYNC_DEAD"
	BodiesBucket = "FERRY_ASYNC_BODIES"

	subjWorkPrefix  = subjects.Work
	subjRetryPrefix = subjects.Retry
	subjDeadPrefix  = subjects.Dead
	retryConsumer   = "retry"
	// Callbacks wait on a subject of their own: a call's result is queued
	// there and the call acked, so a slow or absent receiver never holds
	// its function's concurrency slot.
	subjCallbackPrefix = subjects.Callback
	callbackConsumer   = "callbacks"
)

// Labels and annotations read from a function (see package subjects).
const (
	LabelMaxInflight = subjects.LabelMaxInflight
	AnnotationQueue  = subjects.AnnotationQueue
)

// queueToken is the subject suffix of a function's queue: "fn.<ns>.<name>"
// or "q.<queue>". Names are RFC 1123 labels, so they contain no dots.
func queueToken(ns, name, named string) string {
	if named != "" {
		return "q." + named
	}
	return "fn." + ns + "." + name
}

// consumerName turns a token into a durable consumer name (no dots allowed).
func consumerName(token string) string { return strings.ReplaceAll(token, ".", "_") }

// tokenOfConsumer reverses consumerName; ok is false for other consumers.
func tokenOfConsumer(c string) (string, bool) {
	if !strings.HasPrefix(c, "fn_") && !strings.HasPrefix(c, "q_") {
		return "", false
	}
	return strings.ReplaceAll(c, "_", "."), true
}
