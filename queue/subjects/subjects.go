// Package subjects names the NATS subjects the async queue owns. It is a
// leaf, so that what must stay away from them (the NATS subject trigger's
// topic check) can know them without importing the queue.
package subjects

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
