package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/internal/ports"
	"github.com/ferryfaas/ferry/trigger"
	"github.com/ferryfaas/ferry/trigger/triggertest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cluster starts a one-broker kfake on 127.0.0.1:port (0: any), keeping its
// data in dir ("" = memory).
func cluster(t testing.TB, port int, dir string, topics ...string) *kfake.Cluster {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, topics...)}
	if port != 0 {
		opts = append(opts, kfake.Ports(port))
	}
	if dir != "" {
		opts = append(opts, kfake.DataDir(dir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// start runs a Kafka source until the test ends (or stop is called),
// logging to cfg.Log when set (default slog.Default()).
func start(t *testing.T, env *triggertest.Env, cfg Config) (stop func()) {
	t.Helper()
	if cfg.Metrics == nil {
		cfg.Metrics = env.Metrics
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		log := cfg.Log
		if log == nil {
			log = slog.Default()
		}
		trigger.Run(ctx, env.Index, env.Invoker, log, New(cfg))
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func produce(t *testing.T, addrs []string, recs ...*kgo.Record) {
	t.Helper()
	produceWith(t, addrs, nil, recs...)
}

func fnCalls(name string, async bool) func(triggertest.Call) bool {
	return func(c triggertest.Call) bool { return c.Function == triggertest.Key(name) && c.Async == async }
}

// kcat, librdkafka's client, produces a record that invokes the function,
// and consumes the function's answer from the reply topic: a second
// implementation of the protocol checks Ferry's.
func TestKcatRoundTrip(t *testing.T) {
	k := newKcat(t)
	c := cluster(t, 0, "", "orders", "answers")
	defer c.Close()
	env := triggertest.Start(t)
	env.Deploy(t, "echo", map[string]string{"topic": "orders", trigger.AnnotationKafkaReplyTopic: "answers"})
	start(t, env, Config{Brokers: c.ListenAddrs()})
	kcatRoundTrip(t, env, k, c.ListenAddrs()[0], "hello from kcat")
}

// kcat runs Debian's kcat (librdkafka) with args (security settings,
// -X ...) added to every command.
type kcat struct {
	path string
	args []string
}

// newKcat finds kcat, or skips the test.
func newKcat(t *testing.T, args ...string) kcat {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (apt-get install kcat)")
	}
	return kcat{p, args}
}

// with is k with args added.
func (k kcat) with(args ...string) kcat {
	return kcat{k.path, append(slices.Clone(k.args), args...)}
}

// run runs kcat with stdin, for at most 30s, and returns its stdout (and
// its stderr, in the error).
func (k kcat) run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.path, append(append([]string(nil), args...), k.args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("kcat %s: %w\n%s", args[0], err, stderr.String())
	}
	return string(out), nil
}

// produce produces one record (key, header, value) to topic.
func (k kcat) produce(t *testing.T, broker, topic, key, header, value string) error {
	t.Helper()
	_, err := k.run(t, value+"\n", "-P", "-b", broker, "-t", topic, "-k", key, "-H", header)
	return err
}

// consumeOne reads the first record of topic as "key|value|headers".
func (k kcat) consumeOne(t *testing.T, broker, topic string) (string, error) {
	t.Helper()
	return k.run(t, "", "-C", "-b", broker, "-t", topic, "-o", "beginning", "-c", "1", "-e", "-q", "-f", "%k|%s|%h\n")
}

// kcatRoundTrip has kcat produce body (key order-7, header X-Tenant=acme)
// to "orders", checks the call of the function "echo" it makes, and has
// kcat consume echo's answer from "answers".
func kcatRoundTrip(t *testing.T, env *triggertest.Env, k kcat, broker, body string) {
	t.Helper()
	if err := k.produce(t, broker, "orders", "order-7", "X-Tenant=acme", body); err != nil {
		t.Fatal(err)
	}
	calls := env.WaitCalls(t, 1, 20*time.Second, fnCalls("echo", false))
	if calls[0].Body != body || calls[0].Header.Get("X-Kafka-Key") != "order-7" ||
		calls[0].Header.Get("X-Topic") != "orders" || calls[0].Header.Get("X-Tenant") != "acme" {
		t.Fatalf("call: %+v", calls[0])
	}
	got, err := k.consumeOne(t, broker, "answers")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "order-7|"+body+"|") || !strings.Contains(got, "X-Status=200") ||
		!strings.Contains(got, "X-Function=echo.openfaas-fn") {
		t.Fatalf("reply consumed by kcat: %q", got)
	}
}

// A failing function is handed to the async queue (retries, dead letters)
// while the other functions of the same partitions go on; an ordered
// function gets one call at a time per partition, in offset order.
func TestFailingFunctionDoesNotBlockPartition(t *testing.T) {
	c := cluster(t, 0, "", "events")
	defer c.Close()
	env := triggertest.Start(t)
	env.Queue()
	env.Fail(triggertest.Key("bad"))
	env.Deploy(t, "good", map[string]string{"topic": "events"})
	env.Deploy(t, "bad", map[string]string{"topic": "events"})
	env.Deploy(t, "seq", map[string]string{"topic": "events", trigger.AnnotationKafkaOrdered: "true"})
	start(t, env, Config{Brokers: c.ListenAddrs()})
	const n = 30
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(strconv.Itoa(i % 5)), Value: []byte(strconv.Itoa(i))})
	}
	produce(t, c.ListenAddrs(), recs...)
	env.WaitCalls(t, n, 20*time.Second, fnCalls("good", false))
	env.WaitCalls(t, n, 20*time.Second, fnCalls("bad", true)) // handed over
	seq := env.WaitCalls(t, n, 20*time.Second, fnCalls("seq", false))
	last := map[string]int{}
	for _, c := range seq {
		p := c.Header.Get("X-Kafka-Partition")
		off, _ := strconv.Atoi(c.Header.Get("X-Kafka-Offset"))
		if prev, ok := last[p]; ok && off <= prev {
			t.Fatalf("ordered function: partition %s offset %d after %d", p, off, prev)
		}
		last[p] = off
	}
	for _, c := range env.Calls() {
		if c.Function == triggertest.Key("bad") && c.Async && c.Header.Get("X-Kafka-Offset") == "" {
			t.Fatalf("queued call lost its record headers: %+v", c)
		}
	}
}

// A batch processed but not committed (the process died between the two)
// is delivered again to the next member; duplicates carry the offsets of
// that batch only, and no record is lost.
func TestCrashBeforeCommitRedelivers(t *testing.T) {
	c := cluster(t, 0, "", "jobs")
	defer c.Close()
	env := triggertest.Start(t)
	env.Deploy(t, "job", map[string]string{"topic": "jobs"})
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: "jobs", Value: []byte(strconv.Itoa(i))})
	}
	produce(t, c.ListenAddrs(), recs...)
	crashed := make(chan struct{})
	var once sync.Once
	stop := start(t, env, Config{Brokers: c.ListenAddrs(), crashBeforeCommit: func() bool {
		once.Do(func() { close(crashed) })
		return true
	}})
	<-crashed
	stop()
	first := len(env.Calls())
	if first == 0 {
		t.Fatal("no call before the crash")
	}
	start(t, env, Config{Brokers: c.ListenAddrs()})
	env.WaitCalls(t, first+10, 20*time.Second, fnCalls("job", false))
	// Every record committed: the calls of each batch ended before its
	// commit, so no redelivery is still to come.
	waitCommitted(t, c.ListenAddrs(), "jobs", 10)
	byOffset := map[string]string{} // partition/offset -> body
	bodies := map[string]bool{}
	for _, call := range env.Calls() {
		k := call.Header.Get("X-Kafka-Partition") + "/" + call.Header.Get("X-Kafka-Offset")
		if b, ok := byOffset[k]; ok && b != call.Body {
			t.Errorf("offset %s delivered %q and %q", k, b, call.Body)
		}
		byOffset[k] = call.Body
		bodies[call.Body] = true
	}
	for i := range 10 {
		if !bodies[strconv.Itoa(i)] {
			t.Errorf("record %d never delivered", i)
		}
	}
	if len(byOffset) != 10 || len(env.Calls()) <= 10 {
		t.Errorf("%d calls over %d offsets, want the uncommitted batch again over 10", len(env.Calls()), len(byOffset))
	}
}

// A broker that goes away is reported (metric, and a condition in the
// subscribed function's status) and the trigger picks up where it left
// off once the broker is back.
func TestBrokerDownReportedAndReconnects(t *testing.T) {
	port, err := ports.Free()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := cluster(t, port, dir, "ticks")
	env := triggertest.Start(t)
	env.Deploy(t, "f", map[string]string{"topic": "ticks"})
	start(t, env, Config{Brokers: c.ListenAddrs()})
	produce(t, c.ListenAddrs(), &kgo.Record{Topic: "ticks", Value: []byte("one")})
	env.WaitCalls(t, 1, 20*time.Second, fnCalls("f", false))
	addrs := c.ListenAddrs()
	c.Close()
	waitGauge(t, env, 0)
	if c := kafkaCondition(t, env, "f"); c.Status != "False" || c.Reason != "BrokerDown" || !strings.Contains(c.Message, addrs[0]) {
		t.Fatalf("broker down, condition %+v", c)
	}
	c = cluster(t, port, dir, "ticks")
	defer c.Close()
	waitGauge(t, env, 1)
	if c := kafkaCondition(t, env, "f"); c.Status != "True" {
		t.Fatalf("broker back, condition %+v", c)
	}
	produce(t, addrs, &kgo.Record{Topic: "ticks", Value: []byte("two")})
	// At least once: "one" comes again when its commit did not reach the
	// broker before it went down, with the same offset.
	env.WaitCalls(t, 1, 30*time.Second, func(c triggertest.Call) bool { return fnCalls("f", false)(c) && c.Body == "two" })
	for _, c := range env.Calls() {
		if c.Body != "two" && (c.Body != "one" || c.Header.Get("X-Kafka-Offset") != "0") {
			t.Fatalf("unexpected call %+v", c)
		}
	}
}

// kafkaCondition is the KafkaTrigger condition of a function's status as
// the gateway decorates it.
func kafkaCondition(t *testing.T, env *triggertest.Env, name string) api.Condition {
	t.Helper()
	st, err := env.GW.Provider.Get(context.Background(), api.DefaultNamespace, name)
	if err != nil {
		t.Fatal(err)
	}
	env.Metrics.Decorate(context.Background(), &st)
	for _, c := range st.Conditions {
		if c.Type == "KafkaTrigger" {
			return c
		}
	}
	t.Fatalf("no KafkaTrigger condition: %+v", st.Conditions)
	return api.Condition{}
}

// waitCommitted waits until the trigger's consumer group has committed
// want records of topic (the sum of its partitions' committed offsets).
func waitCommitted(t *testing.T, addrs []string, topic string, want int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got int64
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Group = DefaultGroup
		rt := kmsg.NewOffsetFetchRequestTopic()
		rt.Topic, rt.Partitions = topic, []int32{0, 1, 2} // SeedTopics(3, ...)
		req.Topics = append(req.Topics, rt)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := req.RequestWith(ctx, cl)
		cancel()
		got = 0
		if err == nil && resp.ErrorCode == 0 {
			for _, rt := range resp.Topics {
				for _, p := range rt.Partitions {
					got += max(p.Offset, 0) // -1: nothing committed
				}
			}
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s committed %d records of %s, want %d (last error %v)", DefaultGroup, got, topic, want, err)
		}
	}
}

func waitGauge(t *testing.T, env *triggertest.Env, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for env.Gauge(t, "kafka") != want {
		if time.Now().After(deadline) {
			t.Fatalf("ferry_trigger_connected{trigger=kafka} = %v, want %v", env.Gauge(t, "kafka"), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A record with a header HTTP cannot carry ("Bad Header": not a token)
// failed its call before it left; the trigger retried it as "gateway
// unreachable" forever and never committed, so no later record of the
// topic ran. Now it runs without that header, and the offsets move on.
func TestUnsendableHeaderDropped(t *testing.T) {
	c := cluster(t, 0, "", "orders")
	defer c.Close()
	env := triggertest.Start(t)
	env.Deploy(t, "fn", map[string]string{"topic": "orders"})
	stop := start(t, env, Config{Brokers: c.ListenAddrs()})
	produce(t, c.ListenAddrs(),
		&kgo.Record{Topic: "orders", Key: []byte("k"), Value: []byte("poison"), Headers: []kgo.RecordHeader{
			{Key: "Bad Header", Value: []byte("x")}, {Key: "Kept", Value: []byte("y")}}},
		&kgo.Record{Topic: "orders", Key: []byte("k"), Value: []byte("next")})
	calls := env.WaitCalls(t, 2, 20*time.Second, fnCalls("fn", false))
	for _, call := range calls {
		if call.Body == "poison" && (call.Header.Get("Kept") != "y" || len(call.Header.Values("Bad Header")) != 0) {
			t.Errorf("poison record's headers: %v", call.Header)
		}
	}
	waitCommitted(t, c.ListenAddrs(), "orders", 2) // the commit, after the batch
	stop()
	// Committed: a new member of the group starts after them.
	start(t, env, Config{Brokers: c.ListenAddrs()})
	produce(t, c.ListenAddrs(), &kgo.Record{Topic: "orders", Key: []byte("k"), Value: []byte("third")})
	env.WaitCalls(t, 3, 20*time.Second, fnCalls("fn", false))
	// The third committed: a redelivery of the first two (same key, same
	// partition) would have come before it.
	waitCommitted(t, c.ListenAddrs(), "orders", 3)
	if n := len(env.Calls()); n != 3 {
		t.Fatalf("%d calls, want 3 (the poison record committed, not redelivered): %+v", n, env.Calls())
	}
}
