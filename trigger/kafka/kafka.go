// Package kafka invokes functions for Kafka records (franz-go, pure Go):
// a function's `topic` annotation lists the topics it answers. All
// gateways join one consumer group, so each record runs its functions on
// one gateway.
//
// Delivery is at least once: a polled batch is committed only after every
// function it was for answered, or its call was queued on the async path
// (which then retries and dead-letters it). A crash before the commit
// redelivers the batch to the next member: duplicates carry the same
// partition and offset (X-Kafka-Partition, X-Kafka-Offset). A function
// annotated com.ferryfaas.kafka.ordered=true gets one call at a time per
// partition, in offset order; the others get concurrent calls up to their
// slot count. A function's answer can be produced to the topic named by
// com.ferryfaas.kafka.reply-topic (before the commit, so replies are at
// least once too).
package kafka

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/trigger"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultGroup is the consumer group of every gateway's Kafka trigger.
const DefaultGroup = "ferry-trigger"

// Config of a Kafka source.
type Config struct {
	Brokers []string
	Group   string // default DefaultGroup
	// Opts are extra client options: TLS and SASL (see Options), client id.
	Opts []kgo.Opt
	// Auth says whom the client authenticates as (Security.Auth), so a
	// refusal can name the credentials without showing the password.
	Auth    string
	Log     *slog.Logger
	Metrics *trigger.Metrics
	// MaxPollRecords bounds one batch (default 500): with the per-function
	// slots, what a slow function can keep in memory.
	MaxPollRecords int
	// SessionTimeout is how long the group waits for a member that went
	// silent (killed) before its partitions go to another (default
	// serveconfig.KafkaSessionTimeout, which is also the flag's).
	SessionTimeout time.Duration
	// crashBeforeCommit is a test hook run between processing a batch and
	// committing it: true drops the consumer there, as a killed process would.
	crashBeforeCommit func() bool
}

// Source is the Kafka trigger.
type Source struct{ cfg Config }

// New returns a Kafka source.
func New(cfg Config) *Source {
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxPollRecords <= 0 {
		cfg.MaxPollRecords = 500
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = serveconfig.KafkaSessionTimeout
	}
	return &Source{cfg: cfg}
}

// Name implements trigger.Source.
func (s *Source) Name() string { return "kafka" }

// Run implements trigger.Source. The consumer is rebuilt when the set of
// subscribed topics changes (deploys are rare; a group member joins again
// in well under a second), and keeps the committed offsets across it.
func (s *Source) Run(ctx context.Context, ix *trigger.Index, iv *trigger.Invoker) error {
	for {
		fns, changed := ix.Snapshot()
		byTopic := map[string][]trigger.Function{}
		var topics []string
		for _, fn := range fns {
			for _, t := range fn.Topics {
				if !trigger.KafkaTopic(t) {
					continue // a NATS wildcard
				}
				if byTopic[t] == nil {
					topics = append(topics, t)
				}
				byTopic[t] = append(byTopic[t], fn)
			}
		}
		if len(topics) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
				continue
			}
		}
		if err := s.consume(ctx, changed, topics, byTopic, iv); err != nil || ctx.Err() != nil {
			return err
		}
	}
}

func (s *Source) consume(ctx context.Context, changed <-chan struct{}, topics []string, byTopic map[string][]trigger.Function, iv *trigger.Invoker) error {
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(s.cfg.Brokers...),
		kgo.ConsumerGroup(s.cfg.Group),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		// A rebalance waits for the running batch, so a partition is not
		// handed to another member while its records are being delivered.
		kgo.BlockRebalanceOnPoll(),
		// A new group starts from the oldest record: nothing produced
		// before the first deploy is skipped.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.SessionTimeout(s.cfg.SessionTimeout),
	}, s.cfg.Opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.CloseAllowingRebalance()
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-changed:
			cancel()
		case <-pctx.Done():
		}
	}()
	go s.watchBroker(pctx, cl)
	s.cfg.Log.Info("kafka trigger consuming", "topics", topics, "group", s.cfg.Group)
	for {
		fetches := cl.PollRecords(pctx, s.cfg.MaxPollRecords)
		if fetches.IsClientClosed() || pctx.Err() != nil {
			return nil
		}
		failed := false
		fetches.EachError(func(t string, p int32, err error) {
			failed = true
			s.cfg.Log.Warn("kafka trigger: fetch failed", "topic", t, "partition", p, "err", err)
		})
		recs := fetches.Records()
		if len(recs) == 0 {
			cl.AllowRebalance()
			if failed { // a broker down: do not spin on its errors
				select {
				case <-pctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		if err := s.process(ctx, cl, recs, byTopic, iv); err != nil {
			return err // not committed: the batch is delivered again
		}
		if s.cfg.crashBeforeCommit != nil && s.cfg.crashBeforeCommit() {
			return errors.New("crashed before commit (test)")
		}
		if err := cl.CommitRecords(ctx, recs...); err != nil {
			// Not fatal: the next member redelivers from the last commit.
			s.cfg.Log.Warn("kafka trigger: commit failed", "err", err)
		}
		cl.AllowRebalance()
	}
}

// watchBroker reports whether a broker answers (metric, function status
// and log), every two seconds; the client itself keeps reconnecting. The
// first answer is reported whichever it is: a broker down at start is
// not shown as up meanwhile.
func (s *Source) watchBroker(ctx context.Context, cl *kgo.Client) {
	up, first := false, true
	brokers := strings.Join(s.cfg.Brokers, ",")
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := cl.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if now := err == nil; now != up || first {
			up, first = now, false
			if up {
				s.cfg.Metrics.SetConnected("kafka", true, "brokers "+brokers)
				s.cfg.Log.Info("kafka trigger: brokers reachable", "brokers", s.cfg.Brokers)
			} else {
				s.cfg.Metrics.SetConnected("kafka", false, s.downDetail(brokers, err))
				s.cfg.Log.Error("kafka trigger: no broker reachable, reconnecting", "brokers", s.cfg.Brokers, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// downDetail says why no broker answers. A broker refusing the SASL
// credentials answers SASL_AUTHENTICATION_FAILED, or (kfake, and brokers
// cut off mid-handshake) just closes the connection, which reaches the
// ping as a bare EOF: with SASL configured, that is said in words.
func (s *Source) downDetail(brokers string, err error) string {
	if s.cfg.Auth != "" && (errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		return "brokers " + brokers + " refuse the credentials (" + s.cfg.Auth + ") or closed the connection while authenticating (" + err.Error() + "); reconnecting"
	}
	return "no broker of " + brokers + " answers (" + err.Error() + "); reconnecting"
}

// process delivers a batch: partitions in parallel; per partition, each
// ordered function in offset order, the others concurrently up to their
// slots. It returns when every delivery is done, or with ctx's error.
func (s *Source) process(ctx context.Context, cl *kgo.Client, recs []*kgo.Record, byTopic map[string][]trigger.Function, iv *trigger.Invoker) error {
	type tp struct {
		t string
		p int32
	}
	parts := map[tp][]*kgo.Record{}
	for _, r := range recs {
		k := tp{r.Topic, r.Partition}
		parts[k] = append(parts[k], r)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
	)
	fail := func(err error) {
		mu.Lock()
		ferr = errors.Join(ferr, err)
		mu.Unlock()
	}
	for k, prs := range parts {
		for _, fn := range byTopic[k.t] {
			wg.Go(func() {
				for _, r := range prs {
					release, err := iv.Acquire(ctx, &fn)
					if err != nil {
						fail(err)
						return
					}
					run := func() {
						defer release()
						if err := s.deliver(ctx, cl, iv, &fn, r); err != nil {
							fail(err)
						}
					}
					if fn.Ordered {
						run()
					} else {
						wg.Go(run)
					}
				}
			})
		}
	}
	wg.Wait()
	return ferr
}

func (s *Source) deliver(ctx context.Context, cl *kgo.Client, iv *trigger.Invoker, fn *trigger.Function, r *kgo.Record) error {
	h := http.Header{}
	h.Set("X-Kafka-Partition", strconv.Itoa(int(r.Partition)))
	h.Set("X-Kafka-Offset", strconv.FormatInt(r.Offset, 10))
	if k := string(r.Key); len(k) > 0 && headerSafe(k) {
		h.Set("X-Kafka-Key", k)
	}
	for _, rh := range r.Headers {
		if headerSafe(rh.Key) && headerSafe(string(rh.Value)) && !strings.HasPrefix(http.CanonicalHeaderKey(rh.Key), "X-Kafka-") {
			h.Add(rh.Key, string(rh.Value))
		}
	}
	res, err := iv.Deliver(ctx, fn, trigger.Event{Source: "kafka", Topic: r.Topic, Body: r.Value, Header: h})
	if err != nil || res == nil || fn.ReplyTopic == "" {
		return err
	}
	reply := &kgo.Record{Topic: fn.ReplyTopic, Key: r.Key, Value: res.Body, Headers: []kgo.RecordHeader{
		{Key: "X-Function", Value: []byte(fn.Key())},
		{Key: "X-Status", Value: []byte(strconv.Itoa(res.Status))},
		{Key: "X-Kafka-Source", Value: []byte(r.Topic + "/" + strconv.Itoa(int(r.Partition)) + "/" + strconv.FormatInt(r.Offset, 10))},
	}}
	if ct := res.Header.Get("Content-Type"); ct != "" {
		reply.Headers = append(reply.Headers, kgo.RecordHeader{Key: "Content-Type", Value: []byte(ct)})
	}
	return cl.ProduceSync(ctx, reply).FirstErr()
}

// headerSafe keeps binary keys and header values out of HTTP headers
// (what HTTP itself cannot carry is dropped by the invoker, for every
// trigger).
func headerSafe(s string) bool {
	if !utf8.ValidString(s) || len(s) > 4096 {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
