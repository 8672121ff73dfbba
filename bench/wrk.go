package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// Wrk runs Debian's wrk (C, event loop) against url: POST body, c
// connections, 2 threads, for d. A Go load client on this 2-core machine
// takes as much CPU as the server it measures; wrk takes far less, so
// throughput targets are judged with it when it is installed. ok is false
// when wrk is missing.
func Wrk(ctx context.Context, url, body string, c int, d time.Duration) (rps float64, non2xx int64, ok bool, err error) {
	bin, lerr := exec.LookPath("wrk")
	if lerr != nil {
		return 0, 0, false, nil
	}
	dir, err := os.MkdirTemp("", "ferry-wrk-")
	if err != nil {
		return 0, 0, true, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "post.lua")
	if err := os.WriteFile(script, []byte(fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = %q\n", body)), 0o644); err != nil {
		return 0, 0, true, err
	}
	secs := max(1, int(d.Seconds()))
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-t2", "-c"+strconv.Itoa(c), "-d"+strconv.Itoa(secs)+"s", "-s", script, url).CombinedOutput()
	if err != nil {
		return 0, 0, true, fmt.Errorf("wrk: %v: %s", err, out)
	}
	m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		return 0, 0, true, fmt.Errorf("wrk printed no Requests/sec: %s", out)
	}
	rps, _ = strconv.ParseFloat(string(m[1]), 64)
	if n := regexp.MustCompile(`Non-2xx or 3xx responses:\s+([0-9]+)`).FindSubmatch(out); n != nil {
		non2xx, _ = strconv.ParseInt(string(n[1]), 10, 64)
	}
	return rps, non2xx, true, nil
}
