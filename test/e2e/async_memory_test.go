package e2e

import (
	"bytes"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// rssMB is a process's resident memory.
func rssMB(t *testing.T, pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// TestAsyncBurstMemory: 276 anonymous 1 MB calls at once are stored and
// run, and `ferry serve`'s memory comes back down afterwards (it stayed
// near 1 GB).
func TestAsyncBurstMemory(t *testing.T) {
	f := harness.T(t, harness.Options{DataDir: asyncDataDir(t), Args: []string{"--async-max-body", "2097152"}})
	deployAsyncFn(t, f, "afn", nil)
	enqueue(t, f, "POST", "afn", "warm up", nil)
	time.Sleep(2 * time.Second)
	pid := f.PID()
	before := rssMB(t, pid)
	body := bytes.Repeat([]byte("y"), 1_000_000)
	var wg sync.WaitGroup
	var accepted atomic.Int32
	for i := 0; i < 276; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(f.URL+"/async-function/afn", "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	burst := rssMB(t, pid)
	// A caller waiting over 10 s behind the others gets a 503 to retry:
	// on a slow machine a few may; the point here is memory.
	if accepted.Load() < 276/2 {
		t.Fatalf("only %d of 276 calls accepted", accepted.Load())
	}
	var now float64
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(time.Second) {
		if now = rssMB(t, pid); now <= before+64 {
			t.Logf("%d calls accepted; RSS %.0f MB before, %.0f MB after the burst, %.0f MB %v later",
				accepted.Load(), before, burst, now, time.Since(start).Round(time.Second))
			return
		}
	}
	t.Fatalf("RSS %.0f MB before, %.0f MB after the burst, still %.0f MB 30 s later", before, burst, now)
}
