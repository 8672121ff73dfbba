// Package queue is Ferry's asynchronous invocation: POST
// /async-function/NAME answers 202 once the call is durably stored in NATS
// JetStream, and a Worker (inside `ferry serve`, or `ferry queue-worker`
// processes sharing the work) later invokes the function through the
// gateway's synchronous route, retries retryable failures with back-off,
// dead-letters calls that used up their attempts, and POSTs results to
// X-Callback-Url.
//
// Guarantees: a 202 means the call is on disk (JetStream ack); every
// accepted call is run until it succeeds, fails for good or is
// dead-lettered, at least once. A crash can repeat a run or a callback,
// always with the same X-Call-Id, never lose one. See subjects.go for the
// JetStream layout.
package queue
