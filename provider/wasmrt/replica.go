package wasmrt

import (
	"context"
	"net"
	"time"

	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/provider/process"
	"github.com/ferryfaas/ferry/watchdog"
)

// replica is the watchdog's server running calls in fresh instances.
type replica struct {
	addr, metrics string
	ready, done   chan struct{}
	err           error
	stop          context.CancelFunc // drain, as SIGTERM does to a watchdog
	kill          context.CancelFunc // abort the calls still running
	use           usage
}

// Start serves one replica on loopback: the watchdog's server, with the
// version's settings and a handler that runs each call in a new instance.
func (rt *Runtime) Start(_ context.Context, r process.ReplicaSpec) (process.Replica, error) {
	s := r.Prepared.Run.(*version)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, err
	}
	x := &replica{addr: ln.Addr().String(), metrics: mln.Addr().String(), ready: make(chan struct{}), done: make(chan struct{})}
	runCtx, stop := context.WithCancel(context.Background())
	killCtx, kill := context.WithCancel(context.Background())
	x.stop, x.kill = stop, kill
	logw := &process.LineWriter{Emit: func(line string) { r.Output(0, line) }}
	cfg := s.cfg
	cfg.Listener, cfg.MetricsListener, cfg.Log = ln, mln, logw
	cfg.ReadyFD, cfg.UID, cfg.GID, cfg.SuppressLock = -1, -1, -1, true
	cfg.OnReady = func() { close(x.ready) }
	cfg.Handler = &handler{v: s, kill: killCtx, output: r.Output, budget: rt.Budget, use: &x.use}
	go func() {
		defer close(x.done)
		defer kill()
		x.err = watchdog.Run(runCtx, cfg)
		logw.Flush()
	}()
	return x, nil
}

func (x *replica) Ready() <-chan struct{} { return x.ready }
func (x *replica) Done() <-chan struct{}  { return x.done }
func (x *replica) Err() error             { return x.err }

func (x *replica) Endpoint() provider.Endpoint {
	return provider.Endpoint{Address: x.addr, MetricsAddress: x.metrics}
}

// Stop drains the replica and aborts the calls still running after grace.
func (x *replica) Stop(ctx context.Context, grace time.Duration) error {
	x.stop()
	if grace <= 0 {
		x.kill()
	}
	if provider.EndsWithin(ctx, x.done, grace) {
		return nil
	}
	x.kill()
	<-x.done
	return nil
}
