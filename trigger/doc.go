// Package trigger turns events (Kafka records, cron ticks, NATS messages)
// into invocations of the functions whose annotations subscribe to them.
//
// The pieces are shared by every source:
//   - Index follows the deployed functions (deploys, updates, deletes) by
//     polling the function list, and hands each source the current
//     subscriptions;
//   - Invoker calls a function through the gateway's own invoke path
//     (/function/ or /async-function/, the latter with the queue's retries
//     and dead letters) and bounds the calls in flight per function, so a
//     slow function slows the source that feeds it instead of growing its
//     memory;
//   - Source is what trigger/kafka, trigger/cron and trigger/natssub
//     implement.
//
// Subscriptions use the annotations of OpenFaaS's connectors: `topic` (a
// comma-separated list) and, for the cron connector, `topic: cron-function`
// with `schedule`.
package trigger
