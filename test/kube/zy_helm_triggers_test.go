package kube

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// cronEvery is the fastest schedule the cron trigger reads (a seconds
// field): several ticks fit in a test.
const (
	cronEvery    = 5 * time.Second
	cronSchedule = "*/5 * * * * *"
)

// testTriggers checks the chart's trigger Deployments (two replicas each):
// a function on a NATS subject answers a request published on the chart's
// NATS, and a cron function runs once per tick although both cron
// replicas schedule it, also after the replica that claimed the last tick
// is killed.
func testTriggers(t *testing.T, gw *harness.Ferry) {
	for _, fn := range []struct{ name, topic, schedule string }{
		{"natsfn", "ferry.e2e.orders", ""}, {"cronfn", "cron-function", cronSchedule},
	} {
		ann := map[string]string{"topic": fn.topic}
		if fn.schedule != "" {
			ann["schedule"] = fn.schedule
		}
		code, b, err := gw.Do("POST", "/system/functions", map[string]any{"service": fn.name, "namespace": "openfaas-fn",
			"image": images["v1"], "annotations": ann})
		if err != nil || code != 202 {
			t.Fatalf("deploy %s: %d %s %v", fn.name, code, b, err)
		}
		defer gw.Do("DELETE", "/system/functions", map[string]any{"functionName": fn.name, "namespace": "openfaas-fn"})
	}
	for _, fn := range []string{"natsfn", "cronfn"} {
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
