package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// durabilityCalls is the figure the durability promise is judged on: 10,000 async calls per run.
const durabilityCalls = 10000

// TestAsyncDurability sends 10,000 async calls with callbacks and kill -9s
// a process in the middle of the run: every accepted call id must reach
// the callback (duplicates allowed, only with the same id; counted).
func TestAsyncDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 calls per run; skipped with -short")
	}
	ackWait := []string{"--async-ack-wait", "3s"} // a killed worker's calls come back after this

	t.Run("embedded NATS, kill -9 serve", func(t *testing.T) {
		f := harness.T(t, harness.Options{DataDir: asyncDataDir(t), Args: ackWait})
		deployAsyncFn(t, f, "dur", map[string]string{"com.openfaas.queue.max_inflight": "64"})
		runDurability(t, f, "ferry serve (kill -9)", midEnqueue, func() {
			if err := f.Restart(true); err != nil {
				t.Errorf("restart after kill -9: %v", err)
			}
		})
	})

	t.Run("embedded NATS, graceful restart of serve", func(t *testing.T) {
		f := harness.T(t, harness.Options{DataDir: asyncDataDir(t), Args: ackWait})
		deployAsyncFn(t, f, "dur", map[string]string{"com.openfaas.queue.max_inflight": "64"})
		runDurability(t, f, "ferry serve (SIGTERM)", midEnqueue, func() {
			if err := f.Restart(false); err != nil {
				t.Errorf("restart after SIGTERM: %v", err)
			}
		})
	})

	t.Run("embedded NATS, kill -9 queue-worker", func(t *testing.T) {
		natsAddr := freeAddr(t)
		f := harness.T(t, harness.Options{DataDir: asyncDataDir(t),
			Args: append([]string{"--nats-listen", natsAddr, "--queue-worker=false"}, ackWait...)})
		deployAsyncFn(t, f, "dur", map[string]string{"com.openfaas.queue.max_inflight": "64"})
		w := startQueueWorker(t, f, "nats://"+natsAddr, ackWait)
		runDurability(t, f, "ferry queue-worker (kill -9)", midRun, func() {
			w.kill()
			w = startQueueWorker(t, f, "nats://"+natsAddr, ackWait)
		})
	})

	t.Run("Debian nats-server, kill -9 serve", func(t *testing.T) {
		url := startNATSServer(t)
		f := harness.T(t, harness.Options{DataDir: asyncDataDir(t), Args: append([]string{"--nats-url", url}, ackWait...)})
		deployAsyncFn(t, f, "dur", map[string]string{"com.openfaas.queue.max_inflight": "64"})
		runDurability(t, f, "ferry serve (kill -9)", midEnqueue, func() {
			if err := f.Restart(true); err != nil {
				t.Errorf("restart after kill -9: %v", err)
			}
		})
	})
}

// runDurability enqueues durabilityCalls calls (re-sending the same call id
// when an enqueue fails, as a client would), runs killRestart once killWhen
// says so, and checks that every id is called back.
func runDurability(t *testing.T, f *harness.Ferry, victim string, killWhen func(accepted, calledBack int) bool, killRestart func()) {
	n := durabilityCalls
	cb := newCBServer(t, n)
	start := time.Now()
	deadline := start.Add(4 * time.Minute)
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()

	ids := make(chan int, n)
	for i := 0; i < n; i++ {
		ids <- i
	}
	close(ids)
	var accepted, resent atomic.Int64
	var failedMu sync.Mutex
	var failed []string
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				id := "dur-" + strconv.Itoa(i)
				for {
					if time.Now().After(deadline) {
						failedMu.Lock()
						failed = append(failed, id)
						failedMu.Unlock()
						break
					}
					req, _ := http.NewRequest("POST", f.URL+"/async-function/dur", strings.NewReader(id))
					req.Header.Set("X-Call-Id", id)
					req.Header.Set("X-Callback-Url", cb.URL)
					resp, err := client.Do(req)
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == http.StatusAccepted {
							accepted.Add(1)
							break
						}
					}
					resent.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}

	// Kill while calls are both being queued and being run.
	var killedAt, back time.Duration
	var killedDistinct int
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			if d, _, _ := cb.counts(); killWhen(int(accepted.Load()), d) || time.Now().After(deadline) {
				killedDistinct = d
				break
			}
		}
		killedAt = time.Since(start)
		killRestart()
		back = time.Since(start)
	}()
	wg.Wait()
	<-killed
	enqueued := time.Since(start)

	select {
	case <-cb.all:
	case <-time.After(time.Until(deadline)):
	}
	el := time.Since(start)
	distinct, total, dups := cb.counts()
	t.Logf("%s interrupted at %v after %d callbacks, back at %v; %d/%d accepted in %v (%d enqueues re-sent); "+
		"%d distinct call ids called back in %v, %d callbacks in all, %d ids called back more than once (%d extra callbacks)",
		victim, killedAt.Round(time.Millisecond), killedDistinct, back.Round(time.Millisecond), accepted.Load(), n,
		enqueued.Round(time.Millisecond), resent.Load(), distinct, el.Round(time.Millisecond), total, dups, total-distinct)
	if len(failed) > 0 {
		t.Errorf("%d calls were never accepted (first: %v)", len(failed), failed[:min(5, len(failed))])
	}
	cb.mu.Lock()
	var missing, unknown []string
	for i := 0; i < n; i++ {
		if cb.seen["dur-"+strconv.Itoa(i)] == 0 {
			missing = append(missing, "dur-"+strconv.Itoa(i))
		}
	}
	for id := range cb.seen {
		if k, err := strconv.Atoi(strings.TrimPrefix(id, "dur-")); err != nil || k < 0 || k >= n {
			unknown = append(unknown, id)
		}
	}
	for id, c := range cb.last {
		if c.Header.Get("X-Function-Status") != "200" || c.Body != id {
			t.Errorf("call %s: callback status %s body %q", id, c.Header.Get("X-Function-Status"), c.Body)
			break
		}
	}
	cb.mu.Unlock()
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("LOST: %d accepted calls never reached the callback (first: %v)", len(missing), missing[:min(10, len(missing))])
	}
	if len(unknown) > 0 {
		t.Errorf("callbacks with call ids never sent: %v", unknown[:min(10, len(unknown))])
	}
}

// midEnqueue kills serve while calls are still being queued (and run):
// enqueues in flight fail and are re-sent with the same call id.
func midEnqueue(accepted, _ int) bool { return accepted >= durabilityCalls/2 }

// midRun kills a worker once a third of the calls were called back.
func midRun(_, calledBack int) bool { return calledBack >= durabilityCalls/3 }

// queueWorker is a `ferry queue-worker` process on f's embedded NATS.
type queueWorker struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startQueueWorker(t *testing.T, f *harness.Ferry, natsURL string, extra []string) *queueWorker {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(t.TempDir(), "worker.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"queue-worker", "--nats-url", natsURL, "--gateway", f.URL}, extra...)
	cmd := exec.Command(filepath.Join(f.BinDir, "ferry"), args...)
	// f's embedded NATS requires its credentials; passed by environment,
	// as a command line is readable by every local user.
	cmd.Env = append(os.Environ(), "FERRY_NATS_USER=ferry", "FERRY_NATS_PASSWORD="+embeddedNATSPassword(t, f))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &queueWorker{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(w.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(20 * time.Second):
			w.kill()
		}
	})
	return w
}

func (w *queueWorker) kill() {
	w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.done
}

// startNATSServer runs Debian's nats-server with JetStream on a loopback
// port and its own store, and returns its URL.
func startNATSServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server is not installed (scripts/install-deps.sh installs it)")
	}
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	cmd := exec.Command(bin, "-js", "-sd", dir, "-a", host, "-p", port)
	logf, _ := os.Create(filepath.Join(dir, "nats.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return "nats://" + addr
		}
		select {
		case <-ctx.Done():
			t.Fatalf("nats-server did not listen on %s: %v", addr, err)
		case <-done:
			t.Fatalf("nats-server exited: %v", cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func freeAddr(t *testing.T) string {
	a, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAsyncSharedWorkers runs the embedded worker and two `ferry
// queue-worker` processes on one queue: the per-function limit holds
// across all of them, since it is the queue consumer's, not a worker's.
func TestAsyncSharedWorkers(t *testing.T) {
	natsAddr := freeAddr(t)
	f := harness.T(t, harness.Options{DataDir: asyncDataDir(t), Args: []string{"--nats-listen", natsAddr}})
	deployAsyncFn(t, f, "slow", map[string]string{"com.openfaas.queue.max_inflight": "4"})
	startQueueWorker(t, f, "nats://"+natsAddr, nil)
	startQueueWorker(t, f, "nats://"+natsAddr, nil)
	const n = 24
	cb := newCBServer(t, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		if code, _ := enqueue(t, f, "POST", "slow/sleep?ms=500", "", map[string]string{"X-Callback-Url": cb.URL}); code != 202 {
			t.Fatalf("enqueue: %d", code)
		}
	}
	select {
	case <-cb.all:
	case <-time.After(60 * time.Second):
		d, _, _ := cb.counts()
		t.Fatalf("%d of %d calls finished in 60s", d, n)
	}
	el := time.Since(start)
	_, stats, _ := invokeStats(t, f)
	t.Logf("%d calls of 0.5 s, 3 workers, max_inflight 4: %v, peak concurrency %d, %d workers ran calls",
		n, el.Round(10*time.Millisecond), stats["max"], stats["workers"])
	if stats["workers"] < 2 {
		t.Errorf("only %d worker(s) ran calls; the work was not shared", stats["workers"])
	}
	if stats["max"] != 4 {
		t.Errorf("peak concurrency %d across 3 workers, want 4", stats["max"])
	}
	if el < 3*time.Second-100*time.Millisecond {
		t.Errorf("took %v: faster than 4 at a time allows", el)
	}
}
