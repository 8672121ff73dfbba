package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The kafka scenario: records produced to a topic, delivered by `ferry
// serve --kafka-brokers` to the echo function, whose answers are produced
// to a reply topic and consumed here; beside synchronous /function/ calls
// of the same function in the same run. The broker is franz-go's
// in-process kfake (no Kafka can be installed here), so its CPU is this
// process's, as the Kafka client's is. Messages/s runs from the first
// produce to the last reply read, all records produced at once (so its
// p50 includes the backlog); the one-at-a-time p50 has no backlog.
func init() { Register(Scenario{Name: "kafka", Order: 55, Run: runKafka}) }

const kafkaIn, kafkaOut = "bench-in", "bench-out"

func runKafka(ctx context.Context, env *Env) ([]Row, error) {
	dir, echo, err := echoWorkdir("ferry-bench-kafka-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	const c = 64
	n := 20000
	if env.Quick {
		n = 2000
	}
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(8, kafkaIn, kafkaOut))
	if err != nil {
		return nil, err
	}
	defer kc.Close()
	brokers := kc.ListenAddrs()
	f, err := startEcho(ctx, dir, "kafka", echo, map[string]string{"topic": kafkaIn,
		"com.ferryfaas.kafka.reply-topic": kafkaOut, "com.ferryfaas.trigger.concurrency": strconv.Itoa(c)},
		[]string{"--kafka-brokers", brokers[0], "--trigger-poll", "200ms"})
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(kafkaOut),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.ProducerLinger(0))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if _, _, err := kafkaRoundTrip(ctx, cl, 1, time.Minute); err != nil { // the group has joined once this returns
		return nil, fmt.Errorf("first record: %w", err)
	}

	d := env.Dur(5 * time.Second)
	Load(ctx, f.URL+"/function/echo", coreBody, c, d/8, 1_000_000)
	cpu0 := ProcCPU(os.Getpid())
	syncR := Load(ctx, f.URL+"/function/echo", coreBody, c, d, 2_000_000)
	syncCPU := perCall(ProcCPU(os.Getpid())-cpu0, syncR.Requests)
	cpu0 = ProcCPU(os.Getpid())
	rate, p50, err := kafkaRoundTrip(ctx, cl, n, 2*time.Minute)
	if err != nil {
		return nil, err
	}
	kCPU := perCall(ProcCPU(os.Getpid())-cpu0, int64(n))
	// One at a time: latency without a backlog, on each path.
	var k1, s1 []time.Duration
	for range 30 {
		_, d, err := kafkaRoundTrip(ctx, cl, 1, 30*time.Second)
		if err != nil {
			return nil, err
		}
		k1 = append(k1, d)
		r := Load(ctx, f.URL+"/function/echo", coreBody, 1, time.Minute, 1)
		s1 = append(s1, r.P50)
	}
	slices.Sort(k1)
	slices.Sort(s1)
	kp, sp := k1[len(k1)/2], s1[len(s1)/2]
	env.Logf("   kafka -> echo -> reply: %d msgs at %.0f msgs/s, p50 %.1f ms (backlog), one at a time p50 %.2f ms; sync c=%d %.0f calls/s p50 %.2f ms, one at a time %.2f ms",
		n, rate, Ms(p50), Ms(kp), c, syncR.RPS, Ms(syncR.P50), Ms(sp))
	base := fmt.Sprintf("sync /function c=%d", c)
	return []Row{
		{Case: fmt.Sprintf("kafka -> echo -> reply topic, %d records at once, concurrency %d", n, c), Metric: "msgs/s (produce to reply read)", Value: rate, Unit: "msgs/s",
			Baseline: base, BaselineValue: syncR.RPS, Ratio: rate / syncR.RPS},
		{Case: fmt.Sprintf("kafka -> echo -> reply topic, %d records at once, concurrency %d", n, c), Metric: "p50 (backlog included)", Value: Ms(p50), Unit: "ms",
			Baseline: base + " p50", BaselineValue: Ms(syncR.P50), Ratio: float64(p50) / float64(max(syncR.P50, 1))},
		{Case: "kafka -> echo -> reply topic, one record at a time", Metric: "p50", Value: Ms(kp), Unit: "ms",
			Baseline: "sync /function, one call at a time", BaselineValue: Ms(sp), Ratio: float64(kp) / float64(max(sp, 1))},
		{Case: fmt.Sprintf("kafka -> echo -> reply topic, %d records", n), Metric: "CPU per message (all processes, broker included)", Value: Us(kCPU), Unit: "us",
			Baseline: base, BaselineValue: Us(syncCPU), Ratio: ratio(syncCPU, kCPU)},
	}, nil
}

// kafkaRoundTrip produces n records at once to kafkaIn and reads their
// answers from kafkaOut: the rate from the first produce to the last
// answer, and the median time from a record's produce to its answer.
func kafkaRoundTrip(ctx context.Context, cl *kgo.Client, n int, limit time.Duration) (rate float64, p50 time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tag := strconv.FormatInt(time.Now().UnixNano(), 36) + "-" // answers of an earlier round are skipped
	sent := make([]time.Time, n)
	start := time.Now()
	for i := range n {
		sent[i] = time.Now()
		cl.Produce(ctx, &kgo.Record{Topic: kafkaIn, Value: []byte(tag + strconv.Itoa(i))}, nil)
	}
	lat := make([]time.Duration, 0, n)
	seen := make([]bool, n)
	for len(lat) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return 0, 0, fmt.Errorf("%d of %d kafka answers within %v", len(lat), n, limit)
		}
		now := time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			v, ok := strings.CutPrefix(string(r.Value), tag)
			if !ok {
				return
			}
			if i, err := strconv.Atoi(v); err == nil && i >= 0 && i < n && !seen[i] {
				seen[i] = true
				lat = append(lat, now.Sub(sent[i]))
			}
		})
	}
	el := time.Since(start)
	slices.Sort(lat)
	return float64(n) / el.Seconds(), lat[len(lat)/2], nil
}
