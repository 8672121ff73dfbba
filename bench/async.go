package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// The async scenario: how fast /async-function/ accepts calls
// through the gateway at c=64 (worker off, so only enqueueing is measured;
// each 202 means the call is on disk in JetStream), beside a synchronous
// call of the same echo function; and the end-to-end completion rate (202
// to callback received) for an echo function with the embedded worker,
// with the defaults and with the worker's fast paths off (the settings
// before them), each beside the synchronous rate of the same run; and the
// same without callbacks (fire and forget, each call's end read from the
// worker's metrics). CPU per
// call counts every process (this client, ferry, the function): on a
// loaded host it varies far less than the rates.
func init() { Register(Scenario{Name: "async", Order: 50, Run: runAsync}) }

// asyncBefore turns off the worker's fast paths: the worker calls the
// gateway over loopback HTTP and queues every callback, sent by net/http.
var asyncBefore = []string{"--queue-worker-in-process=false", "--async-callback-direct=0", "--async-callback-lean=false"}

func runAsync(ctx context.Context, env *Env) ([]Row, error) {
	dir, echo, err := echoWorkdir("ferry-bench-async-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	d := env.Dur(5 * time.Second)
	const c = 64

	// 1. Enqueue rate, no worker.
	f, err := startWithEcho(ctx, dir, "enqueue", echo, "--queue-worker=false")
	if err != nil {
		return nil, err
	}
	Load(ctx, f.URL+"/function/echo", coreBody, c, d/8, 1_000_000)
	cpu0 := ProcCPU(os.Getpid()) // this process, ferry and the function below it
	syncR := Load(ctx, f.URL+"/function/echo", coreBody, c, d, 2_000_000)
	syncCPU := perCall(ProcCPU(os.Getpid())-cpu0, syncR.Requests)
	Load(ctx, f.URL+"/async-function/echo", coreBody, c, d/8, 1_000_000)
	asyncR := Load(ctx, f.URL+"/async-function/echo", coreBody, c, d, 2_000_000)
	wrkSync, _, haveWrk, err1 := Wrk(ctx, f.URL+"/function/echo", coreBody, c, d)
	wrkAsync, wrkErrs, _, err2 := Wrk(ctx, f.URL+"/async-function/echo", coreBody, c, d)
	f.Stop()
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	env.Logf("   sync c=%d %8.0f req/s; async enqueue c=%d %8.0f req/s p50 %.3f ms p99 %.3f ms errors %d",
		c, syncR.RPS, c, asyncR.RPS, Ms(asyncR.P50), Ms(asyncR.P99), asyncR.Errors)

	// 2. End to end: enqueue n calls at c=64 with callbacks, embedded
	// worker on; with the fast paths off and with the defaults, then any
	// variants named in FERRY_BENCH_ASYNC_AB ("flags;flags", where a
	// FERRY_X=y word is set in serve's environment instead). Two rounds,
	// the second in reverse order (the first run after the enqueue phase
	// tends to be slower), each setting's median reported;
	// FERRY_BENCH_ASYNC_ROUNDS sets another number of rounds.
	n := 20000
	rounds := 2
	if r, err := strconv.Atoi(os.Getenv("FERRY_BENCH_ASYNC_ROUNDS")); err == nil && r > 0 {
		rounds = r
	}
	if env.Quick {
		n, rounds = 2000, 1
	}
	settings := [][]string{asyncBefore, nil}
	for _, v := range strings.Split(os.Getenv("FERRY_BENCH_ASYNC_AB"), ";") {
		if v = strings.TrimSpace(v); v != "" {
			settings = append(settings, strings.Fields(v))
		}
	}
	runs := make([][]asyncRun, len(settings))
	for r := 0; r < rounds; r++ {
		for k := range settings {
			i := k
			if r%2 == 1 {
				i = len(settings) - 1 - k
			}
			args := settings[i]
			run, err := asyncVariant(ctx, dir, fmt.Sprint("e2e-", r, "-", i), echo, n, c, d, args)
			if err != nil {
				return nil, err
			}
			env.Logf("   async end to end [%s]: %d/%d calls back at %.0f calls/s, %.0f us CPU/call (sync: %.0f us) (%d duplicate callbacks); sync just before %.0f calls/s: %.2fx; without callbacks %.0f calls/s (%.2fx), %.0f us CPU/call",
				strings.Join(args, " "), run.done, n, run.rate, Us(run.cpu), Us(syncCPU), run.dups, run.syncRate, run.rate/run.syncRate,
				run.quiet, run.quietRatio, Us(run.quietCPU))
			runs[i] = append(runs[i], run)
		}
	}
	before, cur := medianRun(runs[0]), medianRun(runs[1])

	rows := []Row{}
	if haveWrk {
		env.Logf("   wrk: sync c=%d %8.0f req/s; async enqueue c=%d %8.0f req/s, non-2xx %d", c, wrkSync, c, wrkAsync, wrkErrs)
		rows = append(rows, Row{Case: fmt.Sprintf("async enqueue (202) c=%d, wrk", c), Metric: "req/s", Value: wrkAsync, Unit: "req/s",
			Baseline: fmt.Sprintf("sync /function c=%d, wrk", c), BaselineValue: wrkSync, Ratio: wrkAsync / 10000,
			Target: ">= 10000 req/s", Met: wrkAsync >= 10000 && wrkErrs == 0})
	}
	rows = append(rows, []Row{
		{Case: fmt.Sprintf("async enqueue (202) c=%d, Go client", c), Metric: "req/s", Value: asyncR.RPS, Unit: "req/s",
			Baseline: fmt.Sprintf("sync /function c=%d", c), BaselineValue: syncR.RPS, Ratio: asyncR.RPS / syncR.RPS},
		{Case: fmt.Sprintf("async enqueue (202) c=%d, Go client", c), Metric: "p50 / p99", Value: Ms(asyncR.P50), Unit: fmt.Sprintf("ms / %.3f ms", Ms(asyncR.P99))},
		{Case: fmt.Sprintf("async echo end to end, %d calls c=%d, median of %d", n, c, rounds), Metric: "calls/s (202 to callback)", Value: cur.rate, Unit: "calls/s",
			Baseline: fmt.Sprintf("sync /function c=%d", c), BaselineValue: syncR.RPS, Ratio: cur.rate / syncR.RPS},
		{Case: fmt.Sprintf("async echo end to end, %d calls c=%d, median of %d, each paired with sync calls on its serve just before", n, c, rounds), Metric: "calls/s (ratio: median of the pairs')", Value: cur.rate, Unit: "calls/s",
			Baseline: fmt.Sprintf("sync /function c=%d, median", c), BaselineValue: cur.syncRate, Ratio: cur.ratio,
			Target: ">= 0.6x", Met: cur.ratio >= 0.6},
		{Case: fmt.Sprintf("async echo end to end without callbacks, %d calls c=%d, median of %d, each paired with sync calls on its serve", n, c, rounds), Metric: "calls/s (202 to the worker's completion)", Value: cur.quiet, Unit: "calls/s",
			Baseline: fmt.Sprintf("sync /function c=%d, median", c), BaselineValue: cur.syncRate, Ratio: cur.quietRatio},
		{Case: fmt.Sprintf("async echo end to end without callbacks, %d calls c=%d, median of %d", n, c, rounds), Metric: "CPU per call (all processes)", Value: Us(cur.quietCPU), Unit: "us",
			Baseline: fmt.Sprintf("sync /function c=%d", c), BaselineValue: Us(syncCPU), Ratio: ratio(syncCPU, cur.quietCPU)},
		{Case: fmt.Sprintf("async echo end to end, %d calls c=%d, median of %d, fast paths off (%s)", n, c, rounds, strings.Join(asyncBefore, " ")), Metric: "calls/s (202 to callback)", Value: before.rate, Unit: "calls/s",
			Baseline: fmt.Sprintf("sync /function c=%d", c), BaselineValue: syncR.RPS, Ratio: before.rate / syncR.RPS},
		{Case: fmt.Sprintf("async echo end to end, %d calls c=%d, median of %d", n, c, rounds), Metric: "CPU per call (all processes)", Value: Us(cur.cpu), Unit: "us",
			Baseline: fmt.Sprintf("sync /function c=%d", c), BaselineValue: Us(syncCPU), Ratio: ratio(syncCPU, cur.cpu),
			Target: ">= 0.6x (sync CPU / async CPU)", Met: ratio(syncCPU, cur.cpu) >= 0.6},
		{Case: fmt.Sprintf("async echo end to end, %d calls c=%d, median of %d, fast paths off (%s)", n, c, rounds, strings.Join(asyncBefore, " ")), Metric: "CPU per call (all processes)", Value: Us(before.cpu), Unit: "us",
			Baseline: fmt.Sprintf("sync /function c=%d", c), BaselineValue: Us(syncCPU), Ratio: ratio(syncCPU, before.cpu)},
	}...)
	if asyncR.Errors > 0 {
		rows = append(rows, Row{Case: "async enqueue, Go client", Metric: "errors", Value: float64(asyncR.Errors), Unit: "req"})
	}
	for i, rs := range runs {
		for _, run := range rs {
			if run.done < n {
				return rows, fmt.Errorf("only %d of %d async calls were called back within %s [%s]", run.done, n, asyncLimit, strings.Join(settings[i], " "))
			}
		}
	}
	return rows, nil
}

// asyncLimit bounds one end-to-end run. With every callback queued (the
// fast paths off) a run takes 15 s on a quiet host and over 2 minutes on
// a busy one (one receiver gets 8 deliveries at once): the bound is for a
// run that would never end, not for a slow one.
const asyncLimit = 6 * time.Minute

// asyncRun is one end-to-end run.
type asyncRun struct {
	done int
	rate float64
	// quiet is the same measure without X-Callback-Url (the common use:
	// fire and forget), each call's end seen in the worker's
	// ferry_queue_completed_total; quietCPU its CPU per call.
	quiet      float64
	quietRatio float64
	quietCPU   time.Duration
	// syncRate is synchronous calls/s on the same serve just before, and
	// ratio rate/syncRate: a load spike on the shared host then touches
	// both sides of the ratio, not one.
	syncRate, ratio float64
	dups            int64
	cpu             time.Duration // per call, every process
}

// asyncVariant runs the end-to-end measure on a fresh ferry serve with args.
func asyncVariant(ctx context.Context, dir, name, echo string, n, c int, d time.Duration, args []string) (asyncRun, error) {
	f, err := startWithEcho(ctx, dir, name, echo, args...)
	if err != nil {
		return asyncRun{}, err
	}
	defer f.Stop()
	Load(ctx, f.URL+"/function/echo", coreBody, c, d/8, 1_000_000)
	syncR := Load(ctx, f.URL+"/function/echo", coreBody, c, d/2, 1_000_000)
	cpu0 := ProcCPU(os.Getpid())
	done, rate, dups, err := asyncEndToEnd(ctx, f.URL+"/async-function/echo", n, c, asyncLimit)
	run := asyncRun{done: done, rate: rate, dups: dups, cpu: perCall(ProcCPU(os.Getpid())-cpu0, int64(done)),
		syncRate: syncR.RPS, ratio: rate / max(syncR.RPS, 1)}
	if err != nil || done < n {
		return run, err
	}
	cpu0 = ProcCPU(os.Getpid())
	qdone, qrate, err := asyncNoCallback(ctx, f, n, c, asyncLimit)
	run.quiet, run.quietRatio = qrate, qrate/max(syncR.RPS, 1)
	run.quietCPU = perCall(ProcCPU(os.Getpid())-cpu0, int64(qdone))
	if err == nil && qdone < n {
		err = fmt.Errorf("only %d of %d async calls without a callback completed within %s", qdone, n, asyncLimit)
	}
	return run, err
}

// asyncNoCallback enqueues n calls without a callback with c workers and
// returns how many the worker completed (its ferry_queue_completed_total
// over this run, read every 20 ms) and the rate from the first enqueue to
// the reading that saw the last.
func asyncNoCallback(ctx context.Context, f *harness.Ferry, n, c int, limit time.Duration) (done int, rate float64, err error) {
	completed := func() (int, error) {
		code, body, err := f.Do("GET", "/metrics", nil)
		if err != nil || code != http.StatusOK {
			return 0, fmt.Errorf("read /metrics: %d %v", code, err)
		}
		sum := 0.0
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, "ferry_queue_completed_total{") {
				v, _ := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
				sum += v
			}
		}
		return int(sum), nil
	}
	base, err := completed()
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	enqueue(ctx, f.URL+"/async-function/echo", "q-", "", n, c)
	for ctx.Err() == nil {
		got, err := completed()
		if err != nil {
			return done, 0, err
		}
		if done = got - base; done >= n {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if done > 0 {
		rate = float64(done) / time.Since(start).Seconds()
	}
	return done, rate, nil
}

// medianRun is the median rate and CPU per call of runs (the fewest
// calls back of any, so that a short run is never hidden).
func medianRun(runs []asyncRun) asyncRun {
	var rates, cpus, syncs, ratios, quiets, quietRatios, quietCPUs []float64
	m := asyncRun{done: math.MaxInt}
	for _, r := range runs {
		rates, cpus = append(rates, r.rate), append(cpus, float64(r.cpu))
		syncs, ratios = append(syncs, r.syncRate), append(ratios, r.ratio)
		quiets, quietRatios = append(quiets, r.quiet), append(quietRatios, r.quietRatio)
		quietCPUs = append(quietCPUs, float64(r.quietCPU))
		m.done, m.dups = min(m.done, r.done), m.dups+r.dups
	}
	m.rate, m.cpu = median(rates), time.Duration(median(cpus))
	m.syncRate, m.ratio = median(syncs), median(ratios)
	m.quiet, m.quietRatio, m.quietCPU = median(quiets), median(quietRatios), time.Duration(median(quietCPUs))
	return m
}

func perCall(d time.Duration, n int64) time.Duration {
	if n <= 0 {
		return 0
	}
	return d / time.Duration(n)
}

// ratio is a/b, 0 when b is 0.
func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// startWithEcho starts ferry serve with the echo function (max_inflight 64).
func startWithEcho(ctx context.Context, dir, name, echo string, args ...string) (*harness.Ferry, error) {
	return startEcho(ctx, dir, name, echo, nil, args)
}

// startEcho is startWithEcho with annotations on the function.
func startEcho(ctx context.Context, dir, name, echo string, ann map[string]string, args []string) (*harness.Ferry, error) {
	data := filepath.Join(dir, "data-"+name)
	os.MkdirAll(data, 0o755)
	// A setting of FERRY_BENCH_ASYNC_AB may name environment variables
	// (FERRY_QUEUE_CODEC=json) beside flags.
	var env, flags []string
	for _, a := range args {
		if k, _, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "FERRY_") {
			env = append(env, a)
		} else {
			flags = append(flags, a)
		}
	}
	args = flags
	// The queue's bounds would answer 429 once a run has queued a few
	// thousand calls: the scenario measures the enqueue path, not them.
	args = append(args, "--async-max-queued-per-function", "1000000000", "--async-max-queued", "1000000000",
		"--async-max-queued-bytes", "68719476736")
	f, err := harness.Start(harness.Options{DataDir: data, Args: args, Env: env})
	if err != nil {
		return nil, err
	}
	addr, _ := harness.FreeAddr()
	if err := Deploy(f, map[string]any{"service": "echo", "image": "bench/echo", "envProcess": echo, "annotations": ann,
		"labels":  map[string]string{"com.openfaas.queue.max_inflight": "64"},
		"envVars": map[string]string{"mode": "http", "upstream_url": "http://" + addr, "ECHO_ADDR": addr}}); err != nil {
		f.Stop()
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := f.WaitReady(wctx, "echo", "openfaas-fn", 1); err != nil {
		f.Stop()
		return nil, err
	}
	return f, nil
}

// asyncEndToEnd enqueues n calls with c workers and a loopback callback,
// and returns how many distinct calls were called back and the rate from
// the first enqueue to the last callback.
func asyncEndToEnd(ctx context.Context, url string, n, c int, limit time.Duration) (done int, rate float64, dups int64, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, 0, err
	}
	var mu sync.Mutex
	seen := make(map[string]bool, n)
	var extra atomic.Int64
	all := make(chan struct{})
	var last time.Time
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Call-Id")
		mu.Lock()
		defer mu.Unlock()
		if seen[id] {
			extra.Add(1)
			return
		}
		seen[id] = true
		last = time.Now()
		if len(seen) == n {
			close(all)
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	cb := "http://" + ln.Addr().String() + "/cb"

	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	enqueue(ctx, url, "b-", cb, n, c)
	select {
	case <-all:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	done = len(seen)
	if done > 0 {
		rate = float64(done) / last.Sub(start).Seconds()
	}
	return done, rate, extra.Load(), nil
}

// enqueue POSTs n calls to url with c workers, each with X-Call-Id prefix
// and its number, and X-Callback-Url callback when not empty.
func enqueue(ctx context.Context, url, prefix, callback string, n, c int) {
	client := NewClient(c)
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(coreBody))
				req.Header.Set("X-Call-Id", prefix+strconv.FormatInt(i, 10))
				if callback != "" {
					req.Header.Set("X-Callback-Url", callback)
				}
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
}
