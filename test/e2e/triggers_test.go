package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/internal/ports"
	"github.com/ferryfaas/ferry/test/harness"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// deployAnnotated deploys a fork-mode `cat` (an echo) with annotations
// and waits for its replica.
func deployAnnotated(t *testing.T, f *harness.Ferry, name string, ann map[string]string) {
	t.Helper()
	deploy(t, f, map[string]any{"service": name, "image": "cat", "envProcess": "cat", "annotations": ann})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.WaitReady(ctx, name, ns, 1); err != nil {
		t.Fatal(err)
	}
}

// replies reads the whole reply topic: value and X-Kafka-Source (the
// topic/partition/offset answered) of every record.
func replies(t *testing.T, brokers []string, topic string) map[string][]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out := map[string][]string{} // source -> values
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		recs := fs.Records()
		if len(recs) == 0 {
			return out
		}
		for _, r := range recs {
			var src string
			for _, h := range r.Headers {
				if h.Key == "X-Kafka-Source" {
					src = string(h.Value)
				}
			}
			out[src] = append(out[src], string(r.Value))
		}
	}
}

// `ferry serve --kafka-brokers --trigger-cron`: a kcat record reaches the
// function and kcat reads its answer; kill -9 of serve mid-stream loses no
// record (a duplicate answers the same offset); a cron function runs on
// its schedule.
func TestServeTriggers(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "orders", "answers"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	f := harness.T(t, harness.Options{Args: []string{"--kafka-brokers", brokers[0],
		"--kafka-session-timeout", "6s", "--trigger-cron", "--trigger-poll", "200ms"}})
	deployAnnotated(t, f, "echo", map[string]string{"topic": "orders", "com.ferryfaas.kafka.reply-topic": "answers"})
	deployAnnotated(t, f, "ticker", map[string]string{"topic": "cron-function", "schedule": "* * * * * *"})

	if kcat, err := exec.LookPath("kcat"); err == nil {
		p := exec.Command(kcat, "-P", "-b", brokers[0], "-t", "orders", "-k", "k1")
		p.Stdin = strings.NewReader("via kcat\n")
		if out, err := p.CombinedOutput(); err != nil {
			t.Fatalf("kcat -P: %v\n%s", err, out)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			out, _ := exec.Command(kcat, "-C", "-b", brokers[0], "-t", "answers", "-o", "beginning", "-e", "-q", "-f", "%k|%s\n").Output()
			if strings.Contains(string(out), "k1|via kcat") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no answer in the reply topic; kcat read %q", out)
			}
			time.Sleep(500 * time.Millisecond)
		}
	} else {
		t.Log("kcat not installed: the kcat round trip is skipped (apt-get install kcat)")
	}

	// A stream of records, with serve killed in the middle of it.
	const n = 200
	pc, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			pc.ProduceSync(context.Background(), &kgo.Record{Topic: "orders", Value: []byte("m" + strconv.Itoa(i))})
			time.Sleep(10 * time.Millisecond)
		}
	})
	time.Sleep(700 * time.Millisecond)
	if err := f.Restart(true); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	want := map[string]bool{}
	for i := range n {
		want["m"+strconv.Itoa(i)] = true
	}
	var got map[string][]string
	for deadline := time.Now().Add(90 * time.Second); ; {
		got = replies(t, brokers, "answers")
		for _, vs := range got {
			for _, v := range vs {
				delete(want, v)
			}
		}
		if len(want) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if len(want) > 0 {
		t.Fatalf("%d records never answered after kill -9 (e.g. %v)", len(want), firstKey(want))
	}
	dups := 0
	for src, vs := range got {
		for _, v := range vs[1:] {
			dups++
			if v != vs[0] {
				t.Fatalf("offset %s answered %q and %q", src, vs[0], v)
			}
		}
	}
	t.Logf("%d records, %d answered twice (same offset) after kill -9", n, dups)

	// The cron function ran on its every-second schedule.
	for deadline := time.Now().Add(30 * time.Second); invocations(t, f, "ticker") < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("cron function invoked %v times", invocations(t, f, "ticker"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func firstKey(m map[string]bool) string {
	for k := range m {
		return k
	}
	return ""
}

// Two `ferry serve` sharing one NATS (the first one's embedded server):
// a cron function deployed on both runs once per tick in total, and a
// message on a subject runs the function subscribed to it.
func TestServeCronTwoGatewaysAndSubjects(t *testing.T) {
	natsAddr, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	a := harness.T(t, harness.Options{Args: []string{"--nats-listen", natsAddr,
		"--trigger-cron", "--trigger-nats-subjects", "--trigger-poll", "200ms"}})
	pass := embeddedNATSPassword(t, a)
	b := harness.T(t, harness.Options{Args: []string{"--nats-url", "nats://" + natsAddr, "--nats-user", "ferry", "--nats-password", pass,
		"--trigger-cron", "--trigger-poll", "200ms"}})
	ticker := map[string]string{"topic": "cron-function", "schedule": "* * * * * *"}
	deployAnnotated(t, a, "ticker", ticker)
	deployAnnotated(t, b, "ticker", ticker)
	deployAnnotated(t, a, "greet", map[string]string{"topic": "greetings.new"})

	total := func() float64 { return invocations(t, a, "ticker") + invocations(t, b, "ticker") }
	for deadline := time.Now().Add(30 * time.Second); total() < 2; {
		if time.Now().After(deadline) {
			t.Fatal("cron function never ran")
		}
		time.Sleep(100 * time.Millisecond)
	}
	start, n0 := time.Now(), total()
	time.Sleep(6 * time.Second)
	ticks, ran := time.Since(start).Seconds(), total()-n0
	t.Logf("%.0f runs over %.1f s on two gateways (a: %v, b: %v)", ran, ticks, invocations(t, a, "ticker"), invocations(t, b, "ticker"))
	if ran > ticks+1.5 || ran < ticks-2 {
		t.Fatalf("%v runs in %.1f s of every-second ticks: want one per tick", ran, ticks)
	}

	if got := natsAsk(t, natsAddr, pass, "greetings.new", "hi"); got != "hi" {
		t.Fatalf("request on greetings.new: %q", got)
	}
	if n := invocations(t, a, "greet"); n != 1 {
		t.Fatalf("greet invoked %v times", n)
	}
}

// A function that fails every call is retried by the queue and
// dead-lettered, while another function of the same topic (and so of the
// same partitions) answers every record.
func TestServeKafkaFailingFunctionDeadLettered(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := harness.T(t, harness.Options{Args: []string{"--kafka-brokers", c.ListenAddrs()[0], "--trigger-poll", "200ms",
		"--async-max-attempts", "2", "--async-backoff-min", "100ms", "--async-backoff-max", "200ms"}})
	deployAnnotated(t, f, "good", map[string]string{"topic": "jobs"})
	deploy(t, f, map[string]any{"service": "bad", "image": "false", "envProcess": "false",
		"annotations": map[string]string{"topic": "jobs"}})
	// Records produced before the trigger saw `bad` (one poll period, then
	// the consumer joins again) would rightly not be delivered to it.
	time.Sleep(2 * time.Second)
	const n = 10
	pc, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for i := range n {
		if err := pc.ProduceSync(context.Background(), &kgo.Record{Topic: "jobs", Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(60 * time.Second); invocations(t, f, "good") < n; {
		if time.Now().After(deadline) {
			t.Fatalf("good answered %v of %d records", invocations(t, f, "good"), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var dead []struct {
		Function string `json:"function"`
		Attempts int    `json:"attempts"`
	}
	for deadline := time.Now().Add(60 * time.Second); len(dead) < n; {
		code, b, err := f.Do("GET", "/system/queue/dead-letters?limit=100", nil)
		if err != nil || code != 200 {
			t.Fatalf("dead letters: %d %s %v", code, b, err)
		}
		dead = dead[:0]
		json.Unmarshal(b, &dead)
		if time.Now().After(deadline) {
			t.Fatalf("%d dead letters, want %d: %s", len(dead), n, b)
		}
		time.Sleep(300 * time.Millisecond)
	}
	for _, d := range dead {
		if d.Function != "bad."+ns || d.Attempts != 2 {
			t.Fatalf("dead letter %+v", d)
		}
	}
}

// A Kafka broker that goes down is reported by `ferry describe` of the
// subscribed function (a KafkaTrigger condition, from /system/function)
// and by ferry_trigger_connected; once it is back (same port and data)
// the trigger reconnects and records flow again.
func TestServeKafkaBrokerDownReported(t *testing.T) {
	port, err := ports.Free()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	broker := func() *kfake.Cluster {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(dir), kfake.SeedTopics(1, "events", "events-out"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := broker()
	brokers := c.ListenAddrs()
	f := harness.T(t, harness.Options{Args: []string{"--kafka-brokers", brokers[0], "--trigger-poll", "200ms"}})
	deployAnnotated(t, f, "relay", map[string]string{"topic": "events", "com.ferryfaas.kafka.reply-topic": "events-out"})
	pc, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	answered := func(v string) func() string {
		return func() string {
			for _, vs := range replies(t, brokers, "events-out") {
				if slices.Contains(vs, v) {
					return ""
				}
			}
			return "no reply " + v
		}
	}
	produce := func(v string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := pc.ProduceSync(ctx, &kgo.Record{Topic: "events", Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	state := func(describe, gauge string) func() string {
		return func() string {
			out := ferryCLI(t, f, "describe", "relay")
			_, m, _ := f.Do("GET", "/metrics", nil)
			if !strings.Contains(out, describe) || !strings.Contains(string(m), `ferry_trigger_connected{trigger="kafka"} `+gauge) {
				return "describe:\n" + out
			}
			return ""
		}
	}
	produce("one")
	eventually(t, 30*time.Second, "first record answered", answered("one"))
	eventually(t, 20*time.Second, "broker reported up", state("KafkaTrigger     True    BrokerReachable", "1"))

	c.Close()
	eventually(t, 20*time.Second, "broker reported down", state("KafkaTrigger     False   BrokerDown: no broker of "+brokers[0], "0"))

	c = broker()
	defer c.Close()
	eventually(t, 30*time.Second, "broker reported back", state("KafkaTrigger     True    BrokerReachable", "1"))
	produce("two")
	eventually(t, 60*time.Second, "a record after the broker came back answered", answered("two"))
}
