package kube

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// Faults on the helm-installed platform: run as subtests of TestHelmChart,
// which builds the images and installs the chart once. Every figure is
// logged with FIGURE for the performance notes.

// receiver collects async callbacks on the node's bridge address, where
// pods reach the host.
type receiver struct {
	URL  string
	mu   sync.Mutex
	seen map[string]int // X-Call-Id → callbacks received
	bad  []string       // callbacks whose call did not answer 200
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", bridgeIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{URL: "http://" + ln.Addr().String() + "/cb", seen: map[string]int{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		io.Copy(io.Discard, q.Body)
		r.mu.Lock()
		id := q.Header.Get("X-Call-Id")
		r.seen[id]++
		if st := q.Header.Get("X-Function-Status"); st != "200" {
			r.bad = append(r.bad, id+": "+st)
		}
		r.mu.Unlock()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

// wait waits (up to d) for a callback of every id and returns those
// missing, the callbacks for ids never sent, and the duplicates.
func (r *receiver) wait(ids []string, d time.Duration) (missing, unknown []string, dups int) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for end := time.Now().Add(d); ; time.Sleep(500 * time.Millisecond) {
		r.mu.Lock()
		missing, unknown, dups = nil, nil, 0
		for _, id := range ids {
			if r.seen[id] == 0 {
				missing = append(missing, id)
			}
		}
		for id, n := range r.seen {
			if !want[id] {
				unknown = append(unknown, id)
			} else {
				dups += n - 1
			}
		}
		r.mu.Unlock()
		if len(missing) == 0 || time.Now().After(end) {
			return
		}
	}
}

func (r *receiver) received() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// sendAsync queues one call with a caller-given X-Call-Id, retrying with
// the same id (the queue drops the duplicate) until it is accepted or 60 s
// pass. It returns how many attempts were refused.
func sendAsync(c *http.Client, gw *harness.Ferry, fn, id, callback string) (refused int, err error) {
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequest("POST", gw.URL+"/async-function/"+fn, strings.NewReader(id))
		req.Header.Set("X-Call-Id", id)
		req.Header.Set("X-Callback-Url", callback)
		resp, e := c.Do(req)
		if e == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 202 {
				return refused, nil
			}
			e = fmt.Errorf("status %d", resp.StatusCode)
		}
		refused++
		if time.Now().After(end) {
			return refused, fmt.Errorf("async %s never accepted: %v", id, e)
		}
	}
}

// loadResult counts the calls of a bounded load.
type loadResult struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	lat        []time.Duration
}

func (l *loadResult) fail(s string) {
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.errs) < 10 {
		l.errs = append(l.errs, time.Now().Format("15:04:05.000")+" "+s)
	}
	l.mu.Unlock()
}

// load calls fn through url from c workers with a keep-alive client (as a
// service in the cluster would), pausing pause between calls, for at most
// d and max calls in all, or until stop is closed (nil: never).
func load(url, fn string, c int, pause, d time.Duration, max int64, keepLat bool, stop <-chan struct{}) *loadResult {
	res := &loadResult{}
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: c}}
	var n atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			for time.Now().Before(end) && n.Add(1) <= max {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				resp, err := cl.Post(url+"/function/"+fn, "text/plain", strings.NewReader("x"))
				if err != nil {
					res.fail(err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					res.fail(fmt.Sprintf("%d %s", resp.StatusCode, b))
					continue
				}
				res.ok.Add(1)
				if keepLat {
					lat = append(lat, time.Since(t0))
				}
				if pause > 0 {
					time.Sleep(pause)
				}
			}
			res.mu.Lock()
			res.lat = append(res.lat, lat...)
			res.mu.Unlock()
		}()
	}
	wg.Wait()
	cl.CloseIdleConnections()
	return res
}

// gatewayPods lists the gateway's pods (names).
func gatewayPods(t *testing.T) []string {
	t.Helper()
	out, err := cluster.Kubectl("get", "po", "-n", "openfaas", "-l", "app.kubernetes.io/name=ferry-gateway",
		"--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}")
	if err != nil {
		t.Fatal(out)
	}
	return strings.Fields(out)
}

// restarts maps each platform pod to its container's restarts.
func restarts(t *testing.T) map[string]int {
	t.Helper()
	out, _ := cluster.Kubectl("get", "po", "-n", "openfaas", "-o",
		`jsonpath={range .items[*]}{.metadata.name}={.status.containerStatuses[0].restartCount} {end}`)
	m := map[string]int{}
	for _, f := range strings.Fields(out) {
		if name, n, ok := strings.Cut(f, "="); ok {
			m[name], _ = strconv.Atoi(n)
		}
	}
	return m
}

// noNewRestarts fails when a platform container restarted (crashed) since
// before was taken; a pod the test deleted comes back as a new pod, which
// must not have restarted at all.
func noNewRestarts(t *testing.T, before map[string]int) {
	t.Helper()
	now := restarts(t)
	for pod, n := range now {
		if n > before[pod] {
			t.Errorf("platform container %s restarted (%d restarts, %d before): %v\n%s\nits last log:\n%s", pod, n, before[pod], now,
				kubectlOr("get", "po", "-n", "openfaas"), kubectlOr("logs", "-n", "openfaas", pod, "--previous", "--tail=5"))
		}
	}
}

// testGatewayPodDeleted deletes one gateway pod (a rolling update or a node
// drain does the same) under a steady load through the Service: at most
// 0.1% of the calls may fail, and every async call accepted meanwhile runs.
func testGatewayPodDeleted(t *testing.T, gw *harness.Ferry) {
	rcv := newReceiver(t)
	before := restarts(t)
	pods := gatewayPods(t)
	if len(pods) != 2 {
		t.Fatalf("gateway pods %v, want 2", pods)
	}
	var ids []string
	var asyncRefused atomic.Int64
	stop := make(chan struct{})
	asyncDone := make(chan error, 1)
	go func() {
		c := &http.Client{Timeout: 35 * time.Second}
		for i := 0; i < 400; i++ {
			select {
			case <-stop:
				asyncDone <- nil
				return
			default:
			}
			id := fmt.Sprintf("gwdel-%d", i)
			ids = append(ids, id)
			n, err := sendAsync(c, gw, "hfn", id, rcv.URL)
			asyncRefused.Add(int64(n))
			if err != nil {
				asyncDone <- err
				return
			}
			time.Sleep(40 * time.Millisecond)
		}
		asyncDone <- nil
	}()
	deleted := make(chan time.Duration, 1)
	go func() {
		time.Sleep(3 * time.Second)
		t0 := time.Now()
		out, err := cluster.Kubectl("delete", "pod", pods[0], "-n", "openfaas", "--wait=true", "--timeout=90s")
		if err != nil {
			t.Errorf("delete %s: %v %s", pods[0], err, out)
		}
		deleted <- time.Since(t0)
	}()
	start := time.Now()
	res := load(gw.URL, "hfn", 6, 10*time.Millisecond, 25*time.Second, 12000, false, nil)
	took := time.Since(start)
	close(stop)
	if err := <-asyncDone; err != nil {
		t.Error(err)
	}
	gone := <-deleted
	waitDeployReady(t, "openfaas", "ferry-gateway", 2)
	missing, unknown, dups := rcv.wait(ids, 90*time.Second)
	total := res.ok.Load() + res.failed.Load()
	t.Logf("FIGURE gateway pod deleted under load (c=6 through the Service ClusterIP): %d calls in %s, %d failed (%.3f%%); pod gone in %s; %d async calls sent meanwhile (%d attempts refused and retried with the same X-Call-Id), %d missing, %d duplicates",
		total, took.Round(time.Millisecond), res.failed.Load(), 100*float64(res.failed.Load())/float64(max(total, 1)), gone.Round(time.Millisecond),
		len(ids), asyncRefused.Load(), len(missing), dups)
	if len(res.errs) > 0 {
		t.Logf("first failures: %s", strings.Join(res.errs, "\n"))
	}
	if total < 1000 {
		t.Errorf("only %d calls: the load says nothing", total)
	}
	if res.failed.Load()*1000 > total {
		t.Errorf("%d of %d calls failed, over 0.1%%", res.failed.Load(), total)
	}
	if len(missing) > 0 || len(unknown) > 0 {
		t.Errorf("async calls lost: %d missing (%v), callbacks for calls never sent: %v", len(missing), head(missing), unknown)
	}
	noNewRestarts(t, before)
}

// testNATSAndWorkerDeleted queues 1,000 calls and, a third of the way
// through, deletes the NATS pod and the queue worker's pod while the
// queued calls run and the rest are still being sent: every call runs (a
// call may run twice, with the same X-Call-Id), and no platform container
// crashes waiting for NATS.
func testNATSAndWorkerDeleted(t *testing.T, gw *harness.Ferry) {
	// One call at a time (across all workers): the queue holds hundreds
	// of calls when the pods go, rather than the worker keeping up.
	code, b, err := gw.Do("POST", "/system/functions", map[string]any{"service": "hq", "namespace": fnNS, "image": images["v1"],
		"labels": map[string]string{"com.openfaas.queue.max_inflight": "1"}})
	if code != 202 {
		t.Fatalf("deploy hq: %d %s %v", code, b, err)
	}
	defer gw.Do("DELETE", "/system/functions", map[string]string{"functionName": "hq", "namespace": fnNS})
	waitDeployReady(t, fnNS, "hq", 1)
	rcv := newReceiver(t)
	before := restarts(t)
	const n = 1000
	ids := make([]string, n)
	var refused atomic.Int64
	var wg sync.WaitGroup
	var next, accepted atomic.Int64
	errc := make(chan error, 8)
	var deleteOnce sync.Once
	type deletion struct {
		atAccepted, atCalledBack int64
		t0                       time.Time
		gone                     time.Duration
	}
	deleted := make(chan deletion, 1)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 35 * time.Second}
			for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
				id := fmt.Sprintf("natsdel-%d", i)
				ids[i] = id
				r, err := sendAsync(c, gw, "hq", id, rcv.URL)
				refused.Add(int64(r))
				if err != nil {
					errc <- err
					return
				}
				if accepted.Add(1) >= n/3 {
					deleteOnce.Do(func() {
						go func() {
							d := deletion{atAccepted: accepted.Load(), atCalledBack: int64(rcv.received()), t0: time.Now()}
							if out, err := cluster.Kubectl("delete", "pod", "-n", "openfaas", "-l", "app.kubernetes.io/name in (nats,queue-worker)", "--wait=true", "--timeout=90s"); err != nil {
								t.Errorf("delete NATS and queue-worker pods: %v %s", err, out)
							}
							d.gone = time.Since(d.t0)
							deleted <- d
						}()
					})
				}
			}
		}()
	}
	wg.Wait()
	lastSent := time.Now()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	d := <-deleted
	sent := lastSent.Sub(d.t0)
	waitDeployReady(t, "openfaas", "nats", 1)
	waitDeployReady(t, "openfaas", "queue-worker", 1)
	back := time.Since(d.t0)
	missing, unknown, dups := rcv.wait(ids, 3*time.Minute)
	all := time.Since(d.t0)
	t.Logf("FIGURE NATS and queue-worker pods deleted when %d of %d async calls were accepted and %d called back: pods gone in %s, the last call accepted %s after the delete (%d refused attempts retried with the same X-Call-Id), both ready again after %s, every call back after %s: %d missing, %d duplicates (same X-Call-Id), %d unknown, %d with a failed status",
		d.atAccepted, n, d.atCalledBack, d.gone.Round(time.Millisecond), sent.Round(time.Millisecond), refused.Load(), back.Round(time.Millisecond), all.Round(time.Millisecond),
		len(missing), dups, len(unknown), len(rcv.bad))
	if len(missing) > 0 || len(unknown) > 0 {
		t.Errorf("async calls lost: %d missing (%v); callbacks for calls never sent: %v", len(missing), head(missing), unknown)
	}
	noNewRestarts(t, before)
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// leaseHolder is the identity holding the gateways' Lease.
func leaseHolder() string {
	out, _ := cluster.Kubectl("get", "lease", "ferry-gateway", "-n", "openfaas", "-o", "jsonpath={.spec.holderIdentity}")
	return strings.TrimSpace(out)
}

// leaderPod names the gateway pod holding the Lease (its identity is the
// pod's host name and a suffix) and the identity.
func leaderPod(t *testing.T) (pod, id string) {
	t.Helper()
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		id = leaseHolder()
		for _, p := range gatewayPods(t) {
			if id != "" && strings.HasPrefix(id, p) {
				return p, id
			}
		}
	}
	t.Fatal("no gateway pod holds the Lease")
	return "", ""
}

// testLeaderPodDies kills the leader gateway's process (SIGKILL: no chance
// to release the Lease) and loads a function with an rps target through
// the Service: the other replica takes over and scales it within 10 s.
func testLeaderPodDies(t *testing.T, gw *harness.Ferry) {
	// Two functions alike: one loaded while the leader lives (the
	// baseline), one loaded only after its death, with no history in any
	// autoscaler.
	for _, fn := range []string{"hlead", "hlead2"} {
		code, b, err := gw.Do("POST", "/system/functions", map[string]any{"service": fn, "namespace": fnNS, "image": images["v1"],
			"labels": map[string]string{"com.openfaas.scale.type": "rps", "com.openfaas.scale.target": "5",
				"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "3"}})
		if code != 202 {
			t.Fatalf("deploy %s: %d %s %v", fn, code, b, err)
		}
		defer gw.Do("DELETE", "/system/functions", map[string]string{"functionName": fn, "namespace": fnNS})
		waitDeployReady(t, fnNS, fn, 1)
	}
	_, alive := scaleUnderLoad(t, gw, "hlead", time.Now(), 30*time.Second)
	leader, id := leaderPod(t)
	cid, _ := cluster.Kubectl("get", "po", leader, "-n", "openfaas", "-o", "jsonpath={.status.containerStatuses[0].containerID}")
	cid = strings.TrimPrefix(strings.TrimSpace(cid), "containerd://")
	killed := time.Now()
	if out, err := run("ctr", "-a", cluster.CtrSocket, "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", cid); err != nil {
		t.Fatalf("kill the leader %s (%s): %v %s", leader, cid, err, out)
	}
	var takeover atomic.Int64
	go func() {
		for end := killed.Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			// Another pod, or the killed container restarted (a new
			// identity in the same pod).
			if h := leaseHolder(); h != "" && h != id {
				takeover.Store(int64(time.Since(killed)))
				return
			}
		}
	}()
	res, grew := scaleUnderLoad(t, gw, "hlead2", killed, 30*time.Second)
	for end := time.Now().Add(20 * time.Second); takeover.Load() == 0 && time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
	}
	tk := time.Duration(takeover.Load())
	t.Logf("FIGURE in-cluster leader gateway SIGKILLed: Lease taken over after %s, autoscaling resumed (hlead2 scaled up under load through the Service) %s after the kill (the same load on hlead with the leader alive: %s); %d calls, %d failed while the killed container's endpoint was removed",
		tk.Round(time.Millisecond), grew.Round(time.Millisecond), alive.Round(time.Millisecond), res.ok.Load()+res.failed.Load(), res.failed.Load())
	if grew == 0 || grew > 10*time.Second {
		t.Errorf("after the leader's death: takeover %s, scale-up %s after the kill; want a scale-up within 10 s", tk, grew)
	}
	// The killed container restarts in its pod: wait until it serves
	// again (the Deployment's ready count may not have seen it go yet).
	for end := time.Now().Add(90 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		st, _ := cluster.Kubectl("get", "po", leader, "-n", "openfaas", "-o", "jsonpath={.status.containerStatuses[0].restartCount}/{.status.containerStatuses[0].ready}")
		if n, ready, _ := strings.Cut(st, "/"); n != "0" && n != "" && ready == "true" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the killed gateway container did not come back: %s\n%s", st, kubectlOr("get", "po", "-n", "openfaas"))
		}
	}
	waitDeployReady(t, "openfaas", "ferry-gateway", 2)
}

// scaleUnderLoad loads fn through the Service (c=4) until its Deployment
// grows past one replica (at most d) and returns the load's calls and how
// long after from that took (0: it did not grow).
func scaleUnderLoad(t *testing.T, gw *harness.Ferry, fn string, from time.Time, d time.Duration) (*loadResult, time.Duration) {
	var res *loadResult
	loaded, stop := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(loaded)
		res = load(gw.URL, fn, 4, 10*time.Millisecond, d, 8000, false, stop)
	}()
	var grew time.Duration
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		r, _ := cluster.Kubectl("get", "deploy", fn, "-n", fnNS, "-o", "jsonpath={.spec.replicas}")
		if r = strings.TrimSpace(r); r != "" && r != "0" && r != "1" {
			grew = time.Since(from)
			break
		}
	}
	close(stop)
	<-loaded
	return res, grew
}

// benchInCluster compares, in the same run on the same cluster and
// function, a call through the in-cluster gateway's Service with one
// through a gateway running on the host (out of the cluster): throughput
// at c=16 over alternating rounds, and the 0→1 cold start.
func benchInCluster(t *testing.T, in *harness.Ferry) string {
	tok, err := cluster.Kubectl("create", "token", "ferry-gateway", "-n", "openfaas", "--duration=1h")
	if err != nil {
		t.Fatal(tok)
	}
	kc, err := cluster.KubeconfigFor("ferry-gateway", strings.TrimSpace(tok))
	if err != nil {
		t.Fatal(err)
	}
	out, err := harness.Start(harness.Options{Args: []string{"--provider", "kubernetes", "--kubeconfig", kc, "--autoscale=false"},
		Env: []string{"FERRY_KUBE_IMAGE_PULL_POLICY=Never"}})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Stop()
	if code, body, err := invokeRetry(out, "hfn", "warm"); code != 200 {
		t.Fatalf("hfn through the host gateway: %d %q %v", code, body, err)
	}
	// Alternating 3 s rounds at c=16, 3 of each; medians.
	var rIn, rOut, pIn, pOut []float64
	for i := 0; i < 6; i++ {
		g, r, p := in, &rIn, &pIn
		if i%2 == 1 {
			g, r, p = out, &rOut, &pOut
		}
		t0 := time.Now()
		res := load(g.URL, "hfn", 16, 0, 3*time.Second, 200000, true, nil)
		if res.failed.Load() > 0 {
			t.Errorf("round %d: %d failed: %v", i, res.failed.Load(), res.errs)
		}
		*r = append(*r, float64(res.ok.Load())/time.Since(t0).Seconds())
		sort.Slice(res.lat, func(a, b int) bool { return res.lat[a] < res.lat[b] })
		if len(res.lat) > 0 {
			*p = append(*p, float64(res.lat[len(res.lat)/2].Microseconds())/1000)
		}
	}
	// Cold start 0→1: the same function, scaled to zero and called once
	// through each gateway, 5 tries each.
	code, b, err := in.Do("POST", "/system/functions", map[string]any{"service": "cold", "namespace": fnNS, "image": images["v1"],
		"envVars": map[string]string{"healthcheck_interval": "500ms"}})
	if code != 202 {
		t.Fatalf("deploy cold: %d %s %v", code, b, err)
	}
	defer in.Do("DELETE", "/system/functions", map[string]string{"functionName": "cold", "namespace": fnNS})
	waitDeployReady(t, fnNS, "cold", 1)
	cIn := coldSeries(t, in, 5)
	cOut := coldSeries(t, out, 5)
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 }
	f := fmt.Sprintf("%f %f %f %f %f %f %f %f", median(rIn), median(rOut), median(pIn), median(pOut), ms(cIn[2]), ms(cOut[2]), ms(cIn[0]), ms(cIn[4]))
	t.Logf("FIGURE invocation c=16 (Go client, 3 alternating 3 s rounds each): through the in-cluster Service %.0f req/s (p50 %.2f ms), through the gateway on the host %.0f req/s (p50 %.2f ms): ratio %.2f; rounds in %v out %v",
		median(rIn), median(pIn), median(rOut), median(pOut), median(rIn)/median(rOut), rIn, rOut)
	t.Logf("FIGURE cold start 0->1 (5 tries each): through the in-cluster Service p50 %s (min %s, max %s); through the gateway on the host p50 %s (min %s, max %s): ratio %.2f",
		cIn[2].Round(time.Microsecond), cIn[0].Round(time.Microsecond), cIn[4].Round(time.Microsecond),
		cOut[2].Round(time.Microsecond), cOut[0].Round(time.Microsecond), cOut[4].Round(time.Microsecond), ms(cIn[2])/ms(cOut[2]))
	return f
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
