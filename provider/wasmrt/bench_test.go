package wasmrt

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// BenchmarkColdStart is the cold start of a call without HTTP: a fresh
// instance of the compiled guest runs to its exit (echoing 5 bytes). It
// reports the p50 and p99 of one instantiation.
func BenchmarkColdStart(b *testing.B) {
	b.Run("go", func(b *testing.B) { benchColdStart(b, newFixture(b, &api.FunctionDeployment{})) })
	b.Run("echo.wasm", func(b *testing.B) { benchColdStart(b, newFixture(b, &api.FunctionDeployment{}, "fprocess=echo.wasm")) })
	// The same-run baseline: what the process runtime's fork mode does per
	// call, a fork and exec of the function (cat) echoing the body.
	b.Run("fork-cat", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		cpu0 := cpuTime()
		for b.Loop() {
			var out bytes.Buffer
			cmd := exec.Command("cat")
			cmd.Stdin, cmd.Stdout = bytes.NewReader([]byte("hello")), &out
			start := time.Now()
			if err := cmd.Run(); err != nil || out.String() != "hello" {
				b.Fatal(err, out.String())
			}
			lat = append(lat, time.Since(start))
		}
		reportPercentiles(b, lat, cpuTime()-cpu0)
	})
}

func benchColdStart(b *testing.B, f *fixture) {
	s := f.prep.Run.(*version)
	ctx := context.Background()
	var use usage
	lat := make([]time.Duration, 0, b.N)
	cpu0 := cpuTime()
	for b.Loop() {
		var out bytes.Buffer
		start := time.Now()
		l := admit(ctx, f.rt.Budget, &use, s.mod, admission(s.mod, f.rt.Budget))
		mod, err := s.mod.r.InstantiateModule(l.withMemory(ctx, s.mod.image), s.mod.compiled, s.base.WithStdin(bytes.NewReader([]byte("hello"))).WithStdout(&out).WithStderr(io.Discard))
		if err != nil {
			b.Fatal(err)
		}
		if out.String() != "hello" {
			b.Fatalf("echo said %q", out.String())
		}
		mod.Close(ctx)
		l.release()
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat, cpuTime()-cpu0)
}

// BenchmarkCall is one call over HTTP (loopback, keep-alive) to a replica.
func BenchmarkCall(b *testing.B) {
	b.Run("go", func(b *testing.B) { benchCall(b, newFixture(b, &api.FunctionDeployment{})) })
	b.Run("echo.wasm", func(b *testing.B) { benchCall(b, newFixture(b, &api.FunctionDeployment{}, "fprocess=echo.wasm")) })
}

func benchCall(b *testing.B, f *fixture) {
	b.SetParallelism(8) // 16 clients on 2 cores, as the c=16 figures
	url := f.start() + "/"
	c := &http.Client{}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Post(url, "text/plain", bytes.NewReader([]byte("hello")))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// cpuTime is the CPU time of this process and its waited-for children:
// on a shared machine it says what a start costs better than its wall
// time, which waits for the CPU.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano())
}

func reportPercentiles(b *testing.B, lat []time.Duration, cpu time.Duration) {
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-µs/op")
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
