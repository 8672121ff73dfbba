package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	ctd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/ferryfaas/ferry/provider"
)

// Labels on every replica's container: Reap reads them back.
const (
	labelFunction  = "ferry.function"
	labelNamespace = "ferry.namespace"
	labelInstance  = "ferry.instance"
	labelNetns     = "ferry.netns"
	// labelSnapshot marks a replica's writable snapshot, so Reap can tell it
	// from image layers.
	labelSnapshot = "ferry.replica"
)

// Watchdog ports inside every container (OpenFaaS's of-watchdog and
// Ferry's watchdog both listen on them by default).
const (
	watchdogPort = "8080"
	metricsPort  = "8081"
)

// ReplicaSpec is one replica to start.
type ReplicaSpec struct {
	Function, Namespace string
	// Instance names the replica ("<function>-<n>"); with Namespace it must
	// be unique among running replicas.
	Instance string
	// Image is a reference already imported or pulled.
	Image string
	// Env is added to the image's environment.
	Env []string
	// Secrets become files in /var/openfaas/secrets, readable by the
	// replica's user only, mounted read-only.
	Secrets map[string][]byte
	// MemoryBytes and Pids default to the runtime's; CPUMilli 0 is no limit.
	MemoryBytes, CPUMilli, Pids int64
	ReadOnlyRoot                bool
	Labels                      map[string]string
	// Stdout and Stderr receive the container's output (nil discards it).
	Stdout, Stderr io.Writer
}

// Replica is one running container.
type Replica struct {
	r        *Runtime
	id       string
	ip       net.IP
	nsPath   string
	io       cio.IO // the host side of the container's stdio
	ready    chan struct{}
	done     chan struct{}
	stopping chan struct{}
	stopOnce sync.Once
	err      error // set before done is closed
	tail     *tail

	mu   sync.Mutex
	task ctd.Task // replaced when containerd restarts
}

func (x *Replica) getTask() ctd.Task {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.task
}

// ID is the replica's containerd container ID.
func (x *Replica) ID() string { return x.id }

// IP is the replica's address on the bridge.
func (x *Replica) IP() net.IP { return x.ip }

// Addr is the watchdog's address.
func (x *Replica) Addr() string { return net.JoinHostPort(x.ip.String(), watchdogPort) }

// MetricsAddr is the watchdog's metrics server, if the image serves one.
func (x *Replica) MetricsAddr() string { return net.JoinHostPort(x.ip.String(), metricsPort) }

// Ready is closed once the watchdog answers its health check.
func (x *Replica) Ready() <-chan struct{} { return x.ready }

// Done is closed once the container has exited and everything it owned is
// removed.
func (x *Replica) Done() <-chan struct{} { return x.done }

// Err says why the replica ended, with its last output lines; it is nil
// until Done is closed, and ErrStopped after Stop.
func (x *Replica) Err() error {
	select {
	case <-x.done:
		return x.err
	default:
		return nil
	}
}

// Start creates and starts one replica; it returns once the container's
// process runs (Ready says when it serves). On error nothing is left.
func (r *Runtime) Start(ctx context.Context, s ReplicaSpec) (_ *Replica, err error) {
	ctx = r.ns(ctx)
	id, err := containerID(s.Namespace, s.Instance)
	if err != nil {
		return nil, err
	}
	img, err := r.image(ctx, s.Image)
	if err != nil {
		return nil, err
	}
	// A replica of the same name left by a crash would block the name.
	if err := r.remove(ctx, id, ""); err != nil {
		return nil, err
	}
	x := &Replica{r: r, id: id, ready: make(chan struct{}), done: make(chan struct{}), stopping: make(chan struct{}), tail: &tail{}}
	defer func() {
		if err != nil {
			r.remove(context.WithoutCancel(ctx), id, x.nsPath)
			x.closeIO()
		}
	}()
	if x.nsPath, err = newNetns(r.netnsName(id)); err != nil {
		return nil, err
	}
	// CNI (tens of ms of plugin execs) runs while containerd creates the
	// container and its task; the process starts once both are done.
	attached := make(chan error, 1)
	go func() {
		var err error
		x.ip, err = r.attach(ctx, id, x.nsPath)
		attached <- err
	}()
	exit, err := r.create(ctx, x, &s, img)
	if netErr := <-attached; err == nil {
		err = netErr
	}
	if err != nil {
		return nil, err
	}
	if err := x.getTask().Start(ctx); err != nil {
		return nil, fmt.Errorf("start task: %w%s", err, x.tail.text())
	}
	go x.probe()
	go x.supervise(exit)
	return x, nil
}

// create makes the replica's container (snapshot, spec, labels) and its
// task, and returns the task's exit channel.
func (r *Runtime) create(ctx context.Context, x *Replica, s *ReplicaSpec, img ctd.Image) (<-chan ctd.ExitStatus, error) {
	labels := map[string]string{labelFunction: s.Function, labelNamespace: s.Namespace, labelInstance: s.Instance, labelNetns: x.nsPath}
	for k, v := range s.Labels {
		if _, ours := labels[k]; !ours {
			labels[k] = v
		}
	}
	c, err := r.client.NewContainer(ctx, x.id,
		ctd.WithImage(img),
		ctd.WithSnapshotter(r.cfg.Snapshotter),
		ctd.WithNewSnapshot(x.id, img, snapshots.WithLabels(map[string]string{labelSnapshot: x.id})),
		ctd.WithNewSpec(r.specOpts(s, img, x.id, x.nsPath)...),
		ctd.WithContainerLabels(labels),
	)
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	stdout, stderr := writerOr(s.Stdout), writerOr(s.Stderr)
	task, err := c.NewTask(ctx, cio.NewCreator(
		cio.WithStreams(nil, io.MultiWriter(stdout, x.tail), io.MultiWriter(stderr, x.tail)),
		cio.WithFIFODir(r.fifoDir())))
	if err != nil {
		return nil, fmt.Errorf("create task: %w%s", err, x.tail.text())
	}
	x.task, x.io = task, task.IO()
	// Wait before Start: an instant exit must not be missed.
	exit, err := task.Wait(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("wait task: %w", err)
	}
	return exit, nil
}

func writerOr(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// netnsName is the replica's netns file name under /var/run/netns.
func (r *Runtime) netnsName(id string) string { return r.cfg.Namespace + "_" + id }

// probe closes ready once the watchdog answers /_/health with 200.
// Polling is all there is: nothing inside the container can signal the
// host. A refused connect costs microseconds, so the interval is short.
func (x *Replica) probe() {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + x.Addr() + "/_/health"
	wait := time.Millisecond
	for {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				close(x.ready)
				return
			}
		}
		select {
		case <-x.done:
			return
		case <-x.stopping:
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Millisecond)
	}
}

// supervise waits for the task's exit and removes the replica. A broken
// connection (containerd restarting) is not an exit: the shim keeps the
// container running, so it waits again once containerd is back.
func (x *Replica) supervise(exit <-chan ctd.ExitStatus) {
	ctx := x.r.ns(context.Background())
	var st ctd.ExitStatus
	for {
		st = <-exit
		if st.Error() == nil || x.stopRequested() {
			break
		}
		next, err := x.rewait(ctx)
		if err != nil {
			break
		}
		exit = next
	}
	var err error
	select {
	case <-x.r.closed: // the container is left for the next New to reap
		x.err = ErrClosed
		close(x.done)
		return
	default:
		err = x.r.remove(ctx, x.id, x.nsPath)
		x.closeIO()
	}
	switch {
	case x.stopRequested():
		x.err = ErrStopped
	case st.Error() != nil:
		x.err = fmt.Errorf("lost the container: %w%s", st.Error(), x.tail.text())
	default:
		x.err = fmt.Errorf("exited with status %d%s", st.ExitCode(), x.tail.text())
	}
	if err != nil {
		x.err = errors.Join(x.err, fmt.Errorf("cleanup: %w", err))
	}
	close(x.done)
}

// rewait reloads the task after containerd came back (up to 30 s).
func (x *Replica) rewait(ctx context.Context) (<-chan ctd.ExitStatus, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := x.r.client.LoadContainer(ctx, x.id)
		if err == nil {
			var t ctd.Task
			if t, err = c.Task(ctx, nil); err == nil {
				var ch <-chan ctd.ExitStatus
				if ch, err = t.Wait(ctx); err == nil {
					x.mu.Lock()
					x.task = t
					x.mu.Unlock()
					return ch, nil
				}
			}
		}
		if errdefs.IsNotFound(err) || time.Now().After(deadline) {
			return nil, err
		}
		select {
		case <-x.r.closed:
			return nil, ErrClosed
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// closeIO ends the copy of the container's output and removes its FIFOs
// (deleting a task through a fresh handle, as remove does, leaves them).
func (x *Replica) closeIO() {
	if x.io == nil {
		return
	}
	x.io.Cancel()
	x.io.Wait()
	x.io.Close()
}

func (x *Replica) stopRequested() bool {
	select {
	case <-x.stopping:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM (the watchdog drains), SIGKILL after grace, and
// returns once everything the replica owned is removed.
func (x *Replica) Stop(ctx context.Context, grace time.Duration) error {
	x.stopOnce.Do(func() { close(x.stopping) })
	kctx := x.r.ns(ctx)
	task := x.getTask()
	if err := task.Kill(kctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
		task.Kill(kctx, syscall.SIGKILL, ctd.WithKillAll)
	}
	if provider.EndsWithin(ctx, x.done, grace) {
		return nil
	}
	x.getTask().Kill(x.r.ns(context.WithoutCancel(ctx)), syscall.SIGKILL, ctd.WithKillAll)
	select {
	case <-x.done:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("replica %s did not end 30s after SIGKILL", x.id)
	}
}

// remove deletes everything a replica owns, whatever state it is in; each
// missing piece is fine. nsPath "" means the replica's usual path.
func (r *Runtime) remove(ctx context.Context, id, nsPath string) error {
	var errs []error
	c, err := r.client.LoadContainer(ctx, id)
	found := err == nil
	if found {
		if labels, err := c.Labels(ctx); err == nil && labels[labelNetns] != "" && nsPath == "" {
			nsPath = labels[labelNetns]
		}
		if t, err := c.Task(ctx, nil); err == nil {
			if _, err := t.Delete(ctx, ctd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete task: %w", err))
			}
		}
		if err := c.Delete(ctx, ctd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete container: %w", err))
		}
	} else if !errdefs.IsNotFound(err) {
		errs = append(errs, err)
	}
	// A snapshot whose container was never created.
	if err := r.client.SnapshotService(r.cfg.Snapshotter).Remove(ctx, id); err != nil && !errdefs.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("remove snapshot: %w", err))
	}
	if nsPath == "" {
		nsPath = filepath.Join(netnsDir, r.netnsName(id))
	}
	// Without a container or netns there is nothing CNI could hold (Reap
	// sweeps stray leases); skipping it keeps a fresh Start fast.
	if _, err := os.Stat(nsPath); found || err == nil {
		if err := r.detach(ctx, id, nsPath); err != nil {
			errs = append(errs, err)
		}
	}
	if err := removeNetns(nsPath); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(r.secretsDir(id)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
