package process

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// slot is one replica position of a function. Its supervisor goroutine
// starts the watchdog, reports readiness, and restarts it with back-off
// when it dies, until the slot is stopped. The instance name ("<fn>-<id>")
// stays the same across restarts.
type slot struct {
	f        *function
	id       int
	instance string
	spec     *runSpec
	stop     chan struct{} // closed by stopLocked

	// guarded by f.mu
	stopping bool
	ready    bool
	addr     string
	maddr    string // watchdog metrics server
	unix     string // the watchdog's Unix socket, "" when none
	pid      int

	tail tailLines // last output lines, for crash messages
}

// run supervises the slot until it is stopped.
func (s *slot) run() {
	defer s.f.p.bg.Done()
	defer s.f.slotW.Done()
	defer s.f.slotDone(s)
	cfg := &s.f.p.cfg
	fails := 0
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		res := s.once()
		if res.stopped {
			return
		}
		if res.readyFor >= cfg.BackoffMax {
			fails = 0 // it ran fine for a while: this is not a loop
		}
		fails++
		s.f.p.log.Warn("replica exited; restarting", "function", s.f.name, "namespace", s.f.ns, "instance", s.instance, "why", res.msg, "attempt", fails)
		s.f.slotCrashed(s, fails, res.msg)
		delay := cfg.BackoffMin << min(fails-1, 16)
		if delay > cfg.BackoffMax || delay <= 0 {
			delay = cfg.BackoffMax
		}
		t := time.NewTimer(delay)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

type runResult struct {
	stopped  bool
	msg      string
	readyFor time.Duration
}

// once starts the watchdog and waits until it exits or the slot stops.
func (s *slot) once() runResult {
	f, p, spec := s.f, s.f.p, s.spec
	port, portFile, err := tcpListener()
	if err != nil {
		return runResult{msg: "watchdog port: " + err.Error()}
	}
	defer portFile.Close() // when the replica is down: see tcpListener
	mport, mportFile, err := tcpListener()
	if err != nil {
		return runResult{msg: "watchdog metrics port: " + err.Error()}
	}
	defer mportFile.Close()
	env := append(slices.Clip(spec.env), "port="+itoa(port), "metrics_port="+itoa(mport))
	unix, unixFile := p.unixListener()
	if unixFile != nil {
		defer unixFile.Close() // when the replica is down: see unixListener
		env = append(env, "FERRY_UNIX_SOCKET="+unix, "FERRY_UNIX_FD=4")
	}
	if spec.httpPort {
		up, err := freePort()
		if err != nil {
			return runResult{msg: err.Error()}
		}
		env = append(env, "upstream_url=http://127.0.0.1:"+itoa(up), "upstream_port="+itoa(up), "PORT="+itoa(up), "http_port="+itoa(up))
	}
	var pipes [6]*os.File // ready r/w, stdout r/w, stderr r/w
	for i := 0; i < 6; i += 2 {
		if pipes[i], pipes[i+1], err = os.Pipe(); err != nil {
			closeAll(pipes[:])
			return runResult{msg: "create pipe: " + err.Error()}
		}
	}
	argv := p.cfg.Watchdog
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = env, spec.dir
	cmd.Stdout, cmd.Stderr = pipes[3], pipes[5]
	cmd.ExtraFiles = []*os.File{pipes[1]} // fd 3: FERRY_READY_FD
	if unixFile != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, unixFile) // fd 4: FERRY_UNIX_FD
	}
	cmd.Env = append(cmd.Env, "FERRY_LISTEN_FD="+itoa(3+len(cmd.ExtraFiles)), "FERRY_METRICS_FD="+itoa(4+len(cmd.ExtraFiles)))
	cmd.ExtraFiles = append(cmd.ExtraFiles, portFile, mportFile)
	cmd.SysProcAttr = sysProcAttr(p.isolate)

	var cg *cgroup
	if p.cg.enabled() {
		if cg, err = p.cg.create(f.ns+"-"+f.name, itoa(s.id), spec.lim); err != nil {
			p.log.Warn("cannot create cgroup; replica runs without limits", "function", f.name, "err", err)
		}
	}
	err = startCmd(cmd, p.cg, cg, p.log)
	pipes[1].Close()
	pipes[3].Close()
	pipes[5].Close()
	if err != nil {
		pipes[0].Close()
		pipes[2].Close()
		pipes[4].Close()
		cg.remove()
		return runResult{msg: "start watchdog: " + err.Error()}
	}
	pid := cmd.Process.Pid
	started := time.Now()
	f.mu.Lock()
	s.pid = pid
	f.mu.Unlock()

	var capture sync.WaitGroup
	capture.Add(2)
	go s.capture(pipes[2], pid, &capture)
	go s.capture(pipes[4], pid, &capture)
	readyCh := make(chan bool, 1)
	go waitReady(pipes[0], unix, readyCh)
	exitCh := make(chan error, 1)
	go func() { exitCh <- cmd.Wait() }()

	startT := time.NewTimer(p.cfg.StartTimeout)
	defer startT.Stop()
	var readyAt time.Time
	var kids []proc
	finish := func() {
		killTree(pid, kids, cg)
		cg.remove()
		waitTimeout(&capture, 200*time.Millisecond)
	}
	for {
		select {
		case served := <-readyCh:
			readyCh = nil
			if !served {
				unix = ""
			}
			startT.Stop()
			readyAt = time.Now()
			kids = descendants(pid)
			p.log.Debug("replica ready", "function", f.name, "namespace", f.ns, "instance", s.instance, "pid", pid, "after", readyAt.Sub(started))
			f.slotReady(s, "127.0.0.1:"+itoa(port), "127.0.0.1:"+itoa(mport), unix)
		case <-startT.C:
			if readyAt.IsZero() {
				s.tail.add(fmt.Sprintf("ferry: not ready after %s; killing it", p.cfg.StartTimeout))
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		case err := <-exitCh:
			f.slotDown(s)
			finish()
			var up time.Duration
			if !readyAt.IsZero() {
				up = time.Since(readyAt)
			}
			return runResult{msg: exitText(err) + s.tail.text(), readyFor: up}
		case <-s.stop:
			f.slotDown(s)
			// SIGTERM the watchdog only: it drains and stops its children.
			syscall.Kill(pid, syscall.SIGTERM)
			grace := time.NewTimer(spec.grace)
			select {
			case <-exitCh:
			case <-grace.C:
				syscall.Kill(-pid, syscall.SIGKILL)
				<-exitCh
			case <-p.kill:
				syscall.Kill(-pid, syscall.SIGKILL)
				<-exitCh
			}
			grace.Stop()
			finish()
			return runResult{stopped: true}
		}
	}
}

// capture copies one output stream into the function's logs line by line.
func (s *slot) capture(r *os.File, pid int, wg *sync.WaitGroup) {
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
			s.tail.add(text)
			s.f.logs.add(s.instance, pid, text)
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
