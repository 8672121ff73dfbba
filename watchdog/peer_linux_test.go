//go:build linux

package watchdog

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// squatter listens on 127.0.0.1:port as some other process of the machine
// would, and counts the requests it is sent (and whether one carried
// X-Secret).
type squatter struct {
	ln            net.Listener
	conns, leaked atomic.Int32
}

func squat(t *testing.T, port int) *squatter {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	s := &squatter{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go func() {
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if req, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					if req.Header.Get("X-Secret") != "" {
						s.leaked.Add(1)
					}
					fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nstolen")
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

// The function is slow to bind its port and another process binds it
// first: the replica is never ready and no request reaches the squatter
// (before, the first successful connect made it ready and the calls went
// to the squatter, headers and all).
func TestHTTPModeSquattedUpstreamNeverReady(t *testing.T) {
	port := freePort(t)
	sq := squat(t, port)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := testConfig(t, "mode=http", "fprocess="+os.Args[0], "upstream_url=http://"+addr,
		"WATCHDOG_TEST_ROLE=echo", "ECHO_ADDR="+addr)
	inst := startNoWait(t, cfg)
	select {
	case <-inst.ready:
		code, _, body := call(t, "POST", inst.url+"/", "x", "X-Secret", "s3cret")
		t.Fatalf("ready on a port another process holds; a call got %d %q", code, body)
	case err := <-inst.done:
		inst.done <- err // for Cleanup
		// the function could not bind its port and exited: the supervisor
		// starts the replica again elsewhere
	case <-time.After(10 * time.Second):
		t.Fatal("watchdog neither ready nor stopped")
	}
	if n := sq.leaked.Load(); n > 0 {
		t.Fatalf("%d requests with their headers reached the squatter", n)
	}
	if logs := inst.logs.String(); !strings.Contains(logs, "SECURITY: the upstream's port is held by another process") || !strings.Contains(logs, "upstream="+addr) {
		t.Errorf("no security log line:\n%s", inst.logs)
	}
}

// Each new pooled connection is checked before anything is written: one
// that another process accepted is never used, and the call is a 502.
func TestUpstreamPoolRefusesForeignConnection(t *testing.T) {
	port := freePort(t)
	sq := squat(t, port)
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	cases := []struct {
		name  string
		owner *upstreamOwner
		ok    bool
	}{
		{"other process tree", &upstreamOwner{uid: -1}, false},
		{"other uid", &upstreamOwner{uid: os.Getuid() + 4242}, false},
		{"own process", &upstreamOwner{uid: -1}, true},
		{"own uid", &upstreamOwner{uid: os.Getuid()}, true},
	}
	cases[0].owner.pid.Store(int32(sleeper.Process.Pid))
	cases[2].owner.pid.Store(int32(os.Getpid()))
	for _, tc := range cases {
		before := sq.leaked.Load()
		pool := &upstreamPool{addr: sq.ln.Addr().String(), maxIdle: 4, owner: tc.owner}
		req, _ := http.NewRequest("GET", "http://x/", nil)
		req.Header.Set("X-Secret", "s3cret")
		resp, uc, err := pool.roundTrip(req, "/", nil, nil, 0, time.Now().Add(5*time.Second))
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			resp.Body.Close()
			pool.release(uc, false)
			continue
		}
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: a foreign connection was used", tc.name)
		} else if !strings.Contains(err.Error(), errNotReplica.Error()) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if sq.leaked.Load() != before {
			t.Errorf("%s: the request reached the squatter", tc.name)
		}
	}
}

// BenchmarkUpstreamCheck is the cost added to each new upstream
// connection: by uid (isolated replicas) and by process tree (without).
func BenchmarkUpstreamCheck(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		accepted <- err
		if err == nil {
			defer c.Close()
			<-b.Context().Done()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	select {
	case err := <-accepted:
		if err != nil {
			b.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		b.Fatal("the connection was not accepted within 5s")
	}
	byUID := &upstreamOwner{uid: os.Getuid()}
	byTree := &upstreamOwner{uid: -1}
	byTree.pid.Store(int32(os.Getpid()))
	for _, o := range []struct {
		name string
		o    *upstreamOwner
	}{{"uid", byUID}, {"tree", byTree}} {
		b.Run(o.name, func(b *testing.B) {
			before := cpuTime()
			for b.Loop() {
				if err := o.o.check(c); err != nil {
					b.Fatal(err)
				}
			}
			// CPU per check: on a shared machine wall time is mostly waiting.
			b.ReportMetric(float64(cpuTime()-before)/float64(b.N), "cpu-ns/op")
		})
	}
}

// A connection still in its listener's queue (not accepted yet, as with a
// single-threaded server busy with another) is judged by the listeners of
// the port.
func TestUpstreamCheckBeforeAccept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // never accepts
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mine := &upstreamOwner{uid: -1}
	mine.pid.Store(int32(os.Getpid()))
	if err := mine.check(c); err != nil {
		t.Errorf("own listener: %v", err)
	}
	if err := (&upstreamOwner{uid: os.Getuid()}).check(c); err != nil {
		t.Errorf("own uid: %v", err)
	}
	if err := (&upstreamOwner{uid: os.Getuid() + 4242}).check(c); err == nil {
		t.Error("a listener of another uid passed")
	}
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	other := &upstreamOwner{uid: -1}
	other.pid.Store(int32(sleeper.Process.Pid))
	if other.check(c) == nil {
		t.Error("a listener of another process tree passed")
	}
}

// cpuTime is the process's user+system CPU time in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
