package process

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferryfaas/ferry/provider"
)

// procReplica is one watchdog process group of the process runtime.
type procReplica struct {
	pid    int
	cg     *cgroup
	files  []*os.File // listeners held while it runs: see tcpListener
	output func(pid int, line string)
	tail   tailLines // last output lines, for Err

	ready chan struct{}
	ep    provider.Endpoint // Unix is set before ready is closed
	done  chan struct{}
	err   error // set before done is closed
}

func (x *procReplica) Ready() <-chan struct{}      { return x.ready }
func (x *procReplica) Endpoint() provider.Endpoint { return x.ep }
func (x *procReplica) Done() <-chan struct{}       { return x.done }

// Release frees the replica's ports (and Unix socket) once the Provider
// no longer routes calls to it.
func (x *procReplica) Release() { closeAll(x.files) }

var _ Releaser = (*procReplica)(nil)

func (x *procReplica) Err() error {
	select {
	case <-x.done:
		return x.err
	default:
		return nil
	}
}

// watch reports readiness and, once the watchdog exited, kills what it
// left behind. Its ports stay held until Release.
func (x *procReplica) watch(cmd *exec.Cmd, readyR, stdout, stderr *os.File, unix string) {
	var capture sync.WaitGroup
	capture.Add(2)
	go x.capture(stdout, &capture)
	go x.capture(stderr, &capture)
	readyCh := make(chan bool, 1)
	go waitReady(readyR, unix, readyCh)
	exitCh := make(chan error, 1)
	go func() { exitCh <- cmd.Wait() }()
	var kids []proc
	for {
		select {
		case served := <-readyCh:
			readyCh = nil
			if served {
				x.ep.Unix = unix
			}
			kids = descendants(x.pid)
			close(x.ready)
		case err := <-exitCh:
			killTree(x.pid, kids, x.cg)
			x.cg.remove()
			waitTimeout(&capture, 200*time.Millisecond)
			x.err = errors.New(exitText(err) + x.tail.text())
			close(x.done)
			return
		}
	}
}

// Stop sends SIGTERM to the watchdog only (it drains and stops its
// children) and SIGKILL to its process group after grace.
func (x *procReplica) Stop(ctx context.Context, grace time.Duration) error {
	select {
	case <-x.done: // its pid may be another process's by now
		return nil
	default:
	}
	if grace > 0 {
		syscall.Kill(x.pid, syscall.SIGTERM)
		if provider.EndsWithin(ctx, x.done, grace) {
			return nil
		}
	}
	syscall.Kill(-x.pid, syscall.SIGKILL)
	<-x.done
	return nil
}

// capture copies one output stream to the replica's Output line by line.
func (x *procReplica) capture(r *os.File, wg *sync.WaitGroup) {
	defer wg.Done()
	defer r.Close()
	br := bufio.NewReaderSize(r, 16<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			text := strings.TrimRight(string(line), "\r\n")
			if err == bufio.ErrBufferFull {
				// An over-long line: keep its start, skip the rest.
				text += " [truncated]"
				for err == bufio.ErrBufferFull {
					_, err = br.ReadSlice('\n')
				}
			}
			x.tail.add(text)
			x.output(x.pid, text)
		}
		if err != nil {
			return
		}
	}
}

// waitReady waits for the watchdog's "ready" line on its FERRY_READY_FD
// pipe and sends whether the watchdog also serves the Unix socket it was
// given ("ready unix=NAME"; an older watchdog says "ready" only): a
// replica is advertised with no socket its watchdog did not confirm. It
// reads up to the newline, not to EOF: a child that inherited the fd may
// keep the pipe open long after.
func waitReady(r *os.File, unix string, ready chan<- bool) {
	defer r.Close()
	line, _ := bufio.NewReader(io.LimitReader(r, 256)).ReadString('\n')
	if word, served, _ := strings.Cut(strings.TrimSpace(line), " unix="); word == "ready" {
		ready <- unix != "" && served == unix
	}
}

func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + ws.Signal().String()
		}
		return fmt.Sprintf("exited with status %d", ee.ExitCode())
	}
	if err == nil {
		return "exited with status 0"
	}
	return err.Error()
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// tailLines keeps the last few output lines of a replica.
type tailLines struct {
	mu    sync.Mutex
	lines [5]string
	n     int
}

func (t *tailLines) add(s string) {
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	t.mu.Lock()
	t.lines[t.n%len(t.lines)] = s
	t.n++
	t.mu.Unlock()
}

// text is the lines as "; last output: a | b", or "".
func (t *tailLines) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		return ""
	}
	var out []string
	for i := max(0, t.n-len(t.lines)); i < t.n; i++ {
		out = append(out, t.lines[i%len(t.lines)])
	}
	return "; last output: " + strings.Join(out, " | ")
}
