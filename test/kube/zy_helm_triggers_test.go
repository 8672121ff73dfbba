package kube

import (
	"context"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// cronEvery is the fastest schedule the cron trigger reads (a seconds
// field): several ticks fit in a test.
const (
	cronEvery    = 5 * time.Second
	cronSchedule = "*/5 * * * * *"
)

// The Kafka trigger's topics in the test's kfake broker.
const (
	kafkaTopic = "ferry.e2e.kafka-orders"
	kafkaReply = "ferry.e2e.kafka-replies"
)

// startKafka runs a one-broker kfake in the test process on the bridge's
// address (pods reach the node there), which it also advertises. The Kafka
// trigger consumes every topic of every function, natsfn's NATS subject
// too: seeding that one as well keeps unknown-topic errors out of its logs.
func startKafka(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, kafkaTopic, kafkaReply, "ferry.e2e.orders"),
		kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			_, port, _ := net.SplitHostPort(addr)
			return net.Listen(network, net.JoinHostPort(bridgeIP, port))
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testTriggers checks the chart's trigger Deployments (two replicas each):
// a function on a NATS subject answers a request published on the chart's
// NATS; a function on a Kafka topic answers a record from the test's kfake
// once on its reply topic; and a cron function runs once per tick although
// both cron replicas schedule it, also after the replica that claimed the
// last tick is killed.
func testTriggers(t *testing.T, gw *harness.Ferry, kafka *kfake.Cluster) {
	for _, fn := range []struct{ name, topic, schedule string }{
		{"natsfn", "ferry.e2e.orders", ""}, {"cronfn", "cron-function", cronSchedule}, {"kafkafn", kafkaTopic, ""},
	} {
		ann := map[string]string{"topic": fn.topic}
		if fn.schedule != "" {
			ann["schedule"] = fn.schedule
		}
		if fn.name == "kafkafn" {
			ann["com.ferryfaas.kafka.reply-topic"] = kafkaReply
		}
		code, b, err := gw.Do("POST", "/system/functions", map[string]any{"service": fn.name, "namespace": "openfaas-fn",
			"image": images["v1"], "annotations": ann})
		if err != nil || code != 202 {
			t.Fatalf("deploy %s: %d %s %v", fn.name, code, b, err)
		}
		defer gw.Do("DELETE", "/system/functions", map[string]any{"functionName": fn.name, "namespace": "openfaas-fn"})
	}
	for _, fn := range []string{"natsfn", "cronfn", "kafkafn"} {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		err := gw.WaitReady(ctx, fn, "openfaas-fn", 1)
		cancel()
		if err != nil {
			t.Fatalf("%v\n%s", err, kubectlOr("get", "po", "-A", "-o", "wide"))
		}
	}
	deployed := time.Now()

	ip, err := cluster.Kubectl("get", "svc", "nats", "-n", "openfaas", "-o", "jsonpath={.spec.clusterIP}")
	if err != nil {
		t.Fatal(ip)
	}
	nc, err := nats.Connect("nats://"+ip+":4222", nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("NATS through its Service: %v", err)
	}
	defer nc.Close()

	// A request on the subject: one trigger replica (the function's queue
	// group) calls the function and answers with its body. The triggers
	// subscribe within their poll after the deploy; until then no one
	// answers and the request is sent again.
	var reply *nats.Msg
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		reply, err = nc.Request("ferry.e2e.orders", []byte("order-1"), 5*time.Second)
		if err == nil || time.Now().After(end) {
			break
		}
	}
	if err != nil || !strings.HasPrefix(string(reply.Data), "v1 natsfn-") || !strings.HasSuffix(string(reply.Data), "order-1") {
		t.Fatalf("NATS request to a function's subject: %v %v\n%s", reply, err, triggerLogs())
	}
	t.Logf("NATS subject ferry.e2e.orders answered by the function: %q", reply.Data)

	testKafkaTrigger(t, kafka.ListenAddrs())

	// Cron: at least two whole ticks after both replicas know the function.
	ticks := waitTicks(t, deployed.Add(2*cronEvery), 3)
	t.Logf("cron ticks, runs per tick, with 2 trigger replicas: %v", ticks)
	checkOncePerTick(t, ticks, deployed.Add(2*cronEvery), time.Time{})

	// Kill the replica that claimed the latest tick (its claim's value is
	// its hostname, the pod name): the other one claims the next ticks.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	holder := lastClaimer(t, js)
	pods := triggerPods(t, "cron")
	if !slices.Contains(pods, holder) {
		t.Fatalf("the last tick's claimer %q is not a cron trigger pod %v", holder, pods)
	}
	if out, err := cluster.Kubectl("delete", "pod", holder, "-n", "openfaas", "--grace-period=0", "--force", "--wait=true", "--timeout=60s"); err != nil {
		t.Fatalf("kill %s: %v %s", holder, err, out)
	}
	killed := time.Now()
	t.Logf("killed the cron trigger pod %s holding the last claim", holder)
	// The pod's process may outlive its API object by a moment and claim
	// one tick it never runs: ticks from one period later on must all run.
	from := killed.Add(cronEvery)
	ticks = waitTicks(t, from, 3)
	t.Logf("cron ticks, runs per tick, after the kill: %v", ticks)
	checkOncePerTick(t, ticks, from, killed)
	waitDeployReady(t, "openfaas", "ferry-trigger-cron", 2)

	if targets := promGet("http://" + promIP() + ":9090/api/v1/targets?state=active"); !strings.Contains(targets, `"job":"trigger"`) {
		t.Errorf("Prometheus does not scrape the triggers:\n%s", targets)
	}
}

// testKafkaTrigger produces one record for kafkafn and reads its answer
// from the reply topic: exactly one, although both trigger replicas consume
// the topic (one consumer group).
func testKafkaTrigger(t *testing.T, brokers []string) {
	waitKafkaConnected(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(kafkaReply))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: kafkaTopic, Key: []byte("k-1"), Value: []byte("kafka-order-1")}).FirstErr()
	cancel()
	if err != nil {
		t.Fatalf("produce to %s: %v", kafkaTopic, err)
	}
	// The first reply within a minute, then 10 s more in which a second
	// one (from a replica outside the group) would come too.
	var replies []*kgo.Record
	for deadline, first := time.Now().Add(60*time.Second), true; time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		replies = append(replies, cl.PollFetches(ctx).Records()...)
		cancel()
		if len(replies) > 0 && first {
			deadline, first = time.Now().Add(10*time.Second), false
		}
	}
	if len(replies) != 1 {
		t.Fatalf("%d replies on %s to one record, want 1: %v\n%s", len(replies), kafkaReply, replies, triggerLogs())
	}
	r := replies[0]
	hdr := map[string]string{}
	for _, h := range r.Headers {
		hdr[h.Key] = string(h.Value)
	}
	if string(r.Key) != "k-1" || !strings.HasPrefix(string(r.Value), "v1 kafkafn-") || !strings.HasSuffix(string(r.Value), "kafka-order-1") ||
		hdr["X-Status"] != "200" || hdr["X-Function"] != "kafkafn.openfaas-fn" {
		t.Fatalf("reply on %s: key %q value %q headers %v", kafkaReply, r.Key, r.Value, hdr)
	}
	t.Logf("Kafka record on %s answered once on %s by one of two trigger replicas: %q %v", kafkaTopic, kafkaReply, r.Value, hdr)
}

// waitKafkaConnected waits until both Kafka trigger pods report on
// /metrics that they reach the broker (they start consuming, and so
// watching it, once a function subscribes to a topic).
func waitKafkaConnected(t *testing.T) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		ips, _ := cluster.Kubectl("get", "po", "-n", "openfaas", "-l", "app.kubernetes.io/name=ferry-trigger-kafka",
			"--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].status.podIP}")
		up := 0
		last = ""
		for _, ip := range strings.Fields(ips) {
			m := promGet("http://" + ip + ":8081/metrics")
			if strings.Contains(m, `ferry_trigger_connected{trigger="kafka"} 1`) {
				up++
			}
			last += ip + ": " + grepLines(m, "ferry_trigger_connected") + "\n"
		}
		if up == 2 {
			return
		}
	}
	t.Fatalf("the Kafka trigger pods do not report the broker connected:\n%s%s", last, triggerLogs())
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}

var tickLine = regexp.MustCompile(`kfn handled \S* tick=(\S+)`)

// cronRuns counts the calls of cronfn per tick in the logs of its pods.
func cronRuns() map[time.Time]int {
	out := kubectlOr("logs", "-n", "openfaas-fn", "-l", "faas_function=cronfn", "--tail=-1", "--max-log-requests=4")
	runs := map[time.Time]int{}
	for _, m := range tickLine.FindAllStringSubmatch(out, -1) {
		if tick, err := time.Parse(time.RFC3339, m[1]); err == nil {
			runs[tick.UTC()]++
		}
	}
	return runs
}

// waitTicks waits until n ticks at or after from have run (and the runs
// of the last one had time to be logged twice if they were going to be).
func waitTicks(t *testing.T, from time.Time, n int) map[time.Time]int {
	t.Helper()
	for end := from.Add(time.Duration(n+6) * cronEvery); ; time.Sleep(time.Second) {
		runs := cronRuns()
		seen := 0
		for tick := range runs {
			if !tick.Before(from.Truncate(time.Second)) {
				seen++
			}
		}
		if seen >= n {
			time.Sleep(cronEvery / 2)
			return cronRuns()
		}
		if time.Now().After(end) {
			t.Fatalf("%d cron ticks since %s, want %d: %v\n%s", seen, from.Format(time.RFC3339), n, runs, triggerLogs())
		}
	}
}

// checkOncePerTick: no tick ran twice; every tick from from on, up to the
// latest, ran (a tick before from may have been lost, never doubled).
func checkOncePerTick(t *testing.T, runs map[time.Time]int, from, killed time.Time) {
	t.Helper()
	var last time.Time
	for tick, n := range runs {
		if n != 1 {
			t.Errorf("cron tick %s ran %d times with two trigger replicas%s", tick.Format(time.RFC3339), n, since(killed))
		}
		if tick.After(last) {
			last = tick
		}
	}
	start := from.UTC().Truncate(cronEvery)
	if start.Before(from.UTC()) {
		start = start.Add(cronEvery)
	}
	for tick := start; !tick.After(last); tick = tick.Add(cronEvery) {
		if runs[tick] == 0 {
			t.Errorf("cron tick %s never ran (runs %v)", tick.Format(time.RFC3339), runs)
		}
	}
	if t.Failed() {
		t.Log(triggerLogs())
	}
}

func since(killed time.Time) string {
	if killed.IsZero() {
		return ""
	}
	return " (one killed at " + killed.Format(time.RFC3339) + ")"
}

// lastClaimer is the pod that claimed the latest tick in the cron
// trigger's KV bucket (keys tick.FUNCTION.UNIXTIME, value host/pid).
func lastClaimer(t *testing.T, js jetstream.JetStream) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, "ferry_cron_ticks")
	if err != nil {
		t.Fatalf("the cron claims bucket: %v", err)
	}
	all, err := kv.Keys(ctx)
	var keys []string // the claims; "seen.FUNCTION" keys say when it was first seen
	for _, k := range all {
		if strings.HasPrefix(k, "tick.") {
			keys = append(keys, k)
		}
	}
	if err != nil || len(keys) == 0 {
		t.Fatalf("no cron claims: %v %v", all, err)
	}
	last := keys[0]
	for _, k := range keys {
		if k[strings.LastIndexByte(k, '.'):] > last[strings.LastIndexByte(last, '.'):] {
			last = k
		}
	}
	e, err := kv.Get(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := strings.Cut(string(e.Value()), "/")
	return host
}

func triggerPods(t *testing.T, name string) []string {
	t.Helper()
	out, err := cluster.Kubectl("get", "po", "-n", "openfaas", "-l", "app.kubernetes.io/name=ferry-trigger-"+name,
		"--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}")
	if err != nil {
		t.Fatal(out)
	}
	return strings.Fields(out)
}

func triggerLogs() string {
	return kubectlOr("logs", "-n", "openfaas", "-l", "app.kubernetes.io/component=trigger", "--tail=20", "--prefix", "--max-log-requests=6")
}

func promIP() string {
	ip, _ := cluster.Kubectl("get", "svc", "prometheus", "-n", "openfaas", "-o", "jsonpath={.spec.clusterIP}")
	return ip
}
