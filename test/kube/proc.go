package kube

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proc is a daemon of the cluster, logging to DIR/logs/NAME.log.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func (c *Cluster) start(name, bin string, args ...string) (*proc, error) {
	logf, err := os.Create(filepath.Join(c.Dir, "logs", name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	c.procs = append(c.procs, p)
	c.logf("started %s (pid %d)", name, cmd.Process.Pid)
	return p, nil
}

// stop sends SIGTERM, then SIGKILL to the process group after grace.
func (p *proc) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitFor polls check (every 100 ms) until it succeeds, the process dies or
// the timeout passes; the error quotes the end of the process's log.
func (c *Cluster) waitFor(ctx context.Context, p *proc, what string, timeout time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited while waiting for %s: %v\n%s", p.name, what, last, c.logTail(p.name))
		}
		select {
		case <-ctx.Done():
			name := ""
			if p != nil {
				name = p.name
			}
			return fmt.Errorf("timed out waiting for %s: %v\n%s", what, last, c.logTail(name))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) logTail(name string) string {
	if name == "" {
		return ""
	}
	dir := c.logDir
	if dir == "" {
		dir = filepath.Join(c.Dir, "logs")
	}
	b, _ := os.ReadFile(filepath.Join(dir, name+".log"))
	lines := strings.Split(string(b), "\n")
	if len(lines) > 25 {
		lines = lines[len(lines)-25:]
	}
	return strings.Join(lines, "\n")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}

var _ = io.Discard

// httpOK GETs a health URL and wants 200.
func httpOK(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %d", url, resp.StatusCode)
	}
	return nil
}
