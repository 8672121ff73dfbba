package kafka

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/client"
	"github.com/ferryfaas/ferry/trigger"
	"github.com/ferryfaas/ferry/trigger/triggertest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkKafkaEchoVsSync measures Kafka -> echo function -> reply topic
// (messages/s and p50 from produce to reply consumed, all messages produced
// at once, so the p50 includes the backlog) beside the same number of
// synchronous calls through the same gateway (32 at a time), in the same
// run; then the p50 of one message at a time on each path:
//
//	go test ./trigger/kafka -run '^$' -bench KafkaEchoVsSync -benchtime 1x
func BenchmarkKafkaEchoVsSync(b *testing.B) {
	const n, workers = 2000, 32
	c := cluster(b, 0, "", "in", "out")
	defer c.Close()
	env := triggertest.Start(b)
	env.Deploy(b, "echo", map[string]string{"topic": "in", trigger.AnnotationKafkaReplyTopic: "out",
		trigger.AnnotationConcurrency: strconv.Itoa(workers)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go trigger.Run(ctx, env.Index, env.Invoker, discard(), New(Config{Brokers: c.ListenAddrs(), Log: discard()}))
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("out"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	roundTrip := func(count int) (rate float64, p50 time.Duration) {
		sent := make([]time.Time, count)
		var lat []time.Duration
		start := time.Now()
		for i := range count {
			sent[i] = time.Now()
			prod.Produce(ctx, &kgo.Record{Topic: "in", Value: []byte(strconv.Itoa(i))}, nil)
		}
		for len(lat) < count {
			pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
			fs := prod.PollFetches(pctx)
			timedOut := pctx.Err() != nil
			pcancel()
			if timedOut {
				b.Fatalf("%d of %d replies", len(lat), count)
			}
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				if i, err := strconv.Atoi(string(r.Value)); err == nil && i < count {
					lat = append(lat, now.Sub(sent[i]))
				}
			})
		}
		return float64(count) / time.Since(start).Seconds(), median(lat)
	}
	roundTrip(1) // the group has joined once this returns
	syncCalls := func() (float64, time.Duration) {
		var mu sync.Mutex
		var lat []time.Duration
		next := make(chan int)
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Go(func() {
				for i := range next {
					t := time.Now()
					res, err := env.Client.Invoke(ctx, client.InvokeRequest{Name: "echo", Body: bytes.NewReader([]byte(strconv.Itoa(i)))})
					if err != nil || res.Status != 200 {
						b.Errorf("sync call: %v", err)
						return
					}
					mu.Lock()
					lat = append(lat, time.Since(t))
					mu.Unlock()
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		return float64(n) / time.Since(start).Seconds(), median(lat)
	}
	for b.Loop() {
		kRate, kP50 := roundTrip(n)
		sRate, sP50 := syncCalls()
		b.ReportMetric(kRate, "kafka-msgs/s")
		b.ReportMetric(float64(kP50.Microseconds()), "kafka-p50-µs")
		b.ReportMetric(sRate, "sync-calls/s")
		b.ReportMetric(float64(sP50.Microseconds()), "sync-p50-µs")
		b.ReportMetric(kRate/sRate, "kafka/sync")
		// One message at a time: latency without a backlog.
		var k1, s1 []time.Duration
		for range 30 {
			_, d := roundTrip(1)
			k1 = append(k1, d)
			t := time.Now()
			if _, err := env.Client.Invoke(ctx, client.InvokeRequest{Name: "echo", Body: bytes.NewReader([]byte("0"))}); err != nil {
				b.Fatal(err)
			}
			s1 = append(s1, time.Since(t))
		}
		b.ReportMetric(float64(median(k1).Microseconds()), "kafka-1-p50-µs")
		b.ReportMetric(float64(median(s1).Microseconds()), "sync-1-p50-µs")
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2]
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
