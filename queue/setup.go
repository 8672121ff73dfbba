package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults for a zero value; flags override them (the flags' defaults are
// these same serveconfig constants).
const (
	DefaultMaxInflight      = 16
	DefaultMaxBody          = serveconfig.AsyncMaxBody
	DefaultMaxAttempts      = serveconfig.AsyncMaxAttempts
	DefaultBackoffMin       = serveconfig.AsyncBackoffMin
	DefaultBackoffMax       = serveconfig.AsyncBackoffMax
	DefaultAckWait          = serveconfig.AsyncAckWait
	DefaultConcurrency      = serveconfig.AsyncConcurrency
	DefaultCallbackAttempts = serveconfig.AsyncCallbackAttempts
	// DefaultDuplicates is how long a caller-given X-Call-Id is remembered
	// so that a retried enqueue is not queued twice.
	DefaultDuplicates = 2 * time.Minute
)

// JetStream bundles a connection and its JetStream context.
type JetStream struct {
	NC *nats.Conn
	JS jetstream.JetStream
}

// NewJetStream wraps a connection. Async publishing allows many
// outstanding acks so that concurrent enqueues share round trips.
func NewJetStream(nc *nats.Conn) (*JetStream, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(8192), jetstream.WithPublishAsyncTimeout(30*time.Second))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &JetStream{NC: nc, JS: js}, nil
}

// Setup creates or updates the streams, the retry consumer and the body
// store, with the limits of bounds (nil: keep those already set, or the
// defaults for new streams). It is idempotent and safe to run from several processes.
func Setup(ctx context.Context, j *JetStream, ackWait time.Duration, bounds *Bounds) error {
	if ackWait <= 0 {
		ackWait = DefaultAckWait
	}
	// A process without bound flags (a queue worker) keeps the limits
	// that `ferry serve` set.
	if bounds != nil || !j.storesExist(ctx) {
		var b Bounds
		if bounds != nil {
			b = *bounds
		}
		if err := j.setupStores(ctx, b.withDefaults()); err != nil {
			return err
		}
	}
	_, err := j.JS.CreateOrUpdateConsumer(ctx, StreamWork, jetstream.ConsumerConfig{
		Durable:       retryConsumer,
		FilterSubject: subjRetryPrefix + ">",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1,
		MaxAckPending: 100000,
	})
	if err != nil {
		return fmt.Errorf("create retry consumer: %w", err)
	}
	_, err = j.JS.CreateOrUpdateConsumer(ctx, StreamWork, jetstream.ConsumerConfig{
		Durable:       callbackConsumer,
		FilterSubject: subjCallbackPrefix + ">",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Minute, // one POST is bounded by 30 s
		MaxDeliver:    -1,
		// Callbacks waiting (Nak'd with a delay) for their receiver's turn
		// or a retry stay pending: room for them all, as for retries. The
		// worker bounds the deliveries running at once.
		MaxAckPending: 100000,
	})
	if err != nil {
		return fmt.Errorf("create callback consumer: %w", err)
	}
	return nil
}

// setupStores creates or updates the streams and the body store with b's
// limits.
func (j *JetStream) setupStores(ctx context.Context, b Bounds) error {
	err := j.createStream(ctx, jetstream.StreamConfig{
		Name:        StreamWork,
		Description: "Ferry asynchronous invocations",
		Subjects:    []string{subjWorkPrefix + ">", subjRetryPrefix + ">", subjCallbackPrefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		MaxMsgs:     hard(b.Calls),
		MaxBytes:    hard(b.Bytes),
		Duplicates:  DefaultDuplicates,
		Replicas:    1,
	})
	if err != nil {
		return fmt.Errorf("create stream %s: %w", StreamWork, err)
	}
	err = j.createStream(ctx, jetstream.StreamConfig{
		Name:        StreamDead,
		Description: "Ferry asynchronous invocations that used up their attempts",
		Subjects:    []string{subjDeadPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		// Dead letters expire, and the oldest go first when full: they
		// are calls that have already failed for good.
		Discard:  jetstream.DiscardOld,
		MaxAge:   b.DeadLetterTTL,
		MaxMsgs:  -1,
		MaxBytes: b.Bytes,
		Replicas: 1,
	})
	if err != nil {
		return fmt.Errorf("create stream %s: %w", StreamDead, err)
	}
	oc := bodiesConfig(b)
	_, err = j.JS.CreateOrUpdateObjectStore(ctx, oc)
	if noStorage(err) {
		oc.MaxBytes = -1
		_, err = j.JS.CreateOrUpdateObjectStore(ctx, oc)
	}
	if err != nil {
		return fmt.Errorf("object store %s: %w", BodiesBucket, err)
	}
	return nil
}

// storesExist reports whether the queue's streams were set up already.
func (j *JetStream) storesExist(ctx context.Context) bool {
	_, err1 := j.JS.Stream(ctx, StreamWork)
	_, err2 := j.JS.Stream(ctx, StreamDead)
	return err1 == nil && err2 == nil
}

// JetStream reserves a stream's MaxBytes on its disk (or account) when the
// stream is created; where that much is not free, the stream is created
// without the byte limit, and the enqueue bound on bytes still holds.
const errCodeNoStorage jetstream.ErrorCode = 10047

func noStorage(err error) bool {
	var ae *jetstream.APIError
	return errors.As(err, &ae) && ae.ErrorCode == errCodeNoStorage
}

func (j *JetStream) createStream(ctx context.Context, cfg jetstream.StreamConfig) error {
	_, err := j.JS.CreateOrUpdateStream(ctx, cfg)
	if noStorage(err) && cfg.MaxBytes > 0 {
		cfg.MaxBytes = -1
		_, err = j.JS.CreateOrUpdateStream(ctx, cfg)
	}
	return err
}

// bodiesConfig bounds the large-body store like the queue stream.
func bodiesConfig(b Bounds) jetstream.ObjectStoreConfig {
	return jetstream.ObjectStoreConfig{
		Bucket:      BodiesBucket,
		Description: "Ferry asynchronous request bodies too large for one message",
		Storage:     jetstream.FileStorage,
		MaxBytes:    hard(b.Bytes),
		TTL:         b.bodyTTL(),
	}
}

func (j *JetStream) bodies(ctx context.Context) (jetstream.ObjectStore, error) {
	os, err := j.JS.ObjectStore(ctx, BodiesBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		os, err = j.JS.CreateOrUpdateObjectStore(ctx, bodiesConfig(Bounds{}.withDefaults()))
	}
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", BodiesBucket, err)
	}
	return os, nil
}

// ensureConsumer creates or updates a queue's durable consumer with the
// given concurrency.
func (j *JetStream) ensureConsumer(ctx context.Context, token string, maxInflight int, ackWait time.Duration) error {
	if ackWait <= 0 {
		ackWait = DefaultAckWait
	}
	_, err := j.JS.CreateOrUpdateConsumer(ctx, StreamWork, jetstream.ConsumerConfig{
		Durable:       consumerName(token),
		FilterSubject: subjWorkPrefix + token,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1,
		MaxAckPending: maxInflight,
	})
	if err != nil {
		return fmt.Errorf("create consumer for queue %s: %w", token, err)
	}
	return nil
}
