package queue

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// fakeFunctions is a narrow stand-in for the provider.
type fakeFunctions struct {
	mu  sync.Mutex
	fns map[string]api.FunctionStatus // "ns/name"
}

func (f *fakeFunctions) add(ns, name string, labels, ann map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fns == nil {
		f.fns = map[string]api.FunctionStatus{}
	}
	f.fns[ns+"/"+name] = api.FunctionStatus{Name: name, Namespace: ns, Labels: labels, Annotations: ann}
}

func (f *fakeFunctions) Route(ns, name string) (provider.Route, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.fns[ns+"/"+name]
	return provider.Route{}, ok
}

func (f *fakeFunctions) Get(_ context.Context, ns, name string) (api.FunctionStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.fns[ns+"/"+name]
	if !ok {
		return st, api.NotFound("function", name)
	}
	return st, nil
}

// rig is an embedded NATS, an enqueuer behind an httptest server, a fake
// gateway whose /function/ route calls fn, and a worker.
type rig struct {
	t       testing.TB
	emb     *Embedded
	js      *JetStream
	fns     *fakeFunctions
	enq     *Enqueuer
	async   *httptest.Server
	gateway *httptest.Server
	worker  *Worker
	allow   *AllowList // shared by the enqueuer and the worker
	dir     string
}

type rigOptions struct {
	maxBody        int64
	maxAttempts    int
	allow          []string
	fn             http.HandlerFunc
	noWorker       bool
	dir            string
	ackWait        time.Duration
	bounds         Bounds
	callbackDirect time.Duration
	// inProcess hands calls to fn in process (WorkerConfig.Gateway); the
	// HTTP gateway then fails the test if it is called.
	inProcess bool
	// direct (with inProcess) hands them over as LocalGateway.InvokeLocal
	// does; the handler's ServeHTTP then fails the test.
	direct bool
	// gw is a real gateway: the rig's gateway server serves it, and the
	// worker hands calls to its InvokeLocal, as in ferry serve.
	gw http.Handler
}

// directGateway is a LocalGateway serving fn with the parts handed over.
type directGateway struct {
	t  testing.TB
	fn http.HandlerFunc
}

func (d directGateway) ServeHTTP(http.ResponseWriter, *http.Request) {
	d.t.Errorf("the worker routed a call through the handler instead of InvokeLocal")
}

func (d directGateway) InvokeLocal(w http.ResponseWriter, r *http.Request, name, ns, path string, body []byte) {
	r.URL.Path = "/function/" + name + "." + ns + path
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	d.fn(w, r)
}

// newRigB is an enqueue-only rig for benchmarks.
func newRigB(b *testing.B) *rig {
	r := &rig{t: b, fns: &fakeFunctions{}, dir: b.TempDir()}
	r.start(rigOptions{noWorker: true, fn: func(http.ResponseWriter, *http.Request) {},
		bounds: Bounds{PerQueue: 1 << 40, Calls: 1 << 40}}) // measure the path, not the bound
	b.Cleanup(r.stop)
	return r
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	r := &rig{t: t, fns: &fakeFunctions{}, dir: o.dir}
	if r.dir == "" {
		r.dir = t.TempDir()
	}
	r.start(o)
	t.Cleanup(r.stop)
	return r
}

func (r *rig) start(o rigOptions) {
	t := r.t
	emb, err := StartEmbedded(EmbeddedOptions{StoreDir: r.dir})
	if err != nil {
		t.Fatal(err)
	}
	r.emb = emb
	nc, err := emb.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	r.js, err = NewJetStream(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := Setup(ctx, r.js, o.ackWait, &o.bounds); err != nil {
		t.Fatal(err)
	}
	allow, err := ParseAllowList(o.allow)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m := NewMetrics(r.js)
	if r.gateway == nil {
		fn := o.fn
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { fn(w, req) })
		if o.gw != nil {
			h = o.gw
		}
		r.gateway = httptest.NewServer(h)
	}
	local := o.gw
	if o.inProcess {
		fn := o.fn
		local = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { fn(w, req) })
		if o.direct {
			local = directGateway{t: t, fn: fn}
		}
		r.gateway.Config.Handler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			t.Errorf("the in-process worker called the gateway over HTTP")
		})
	}
	r.worker = NewWorker(WorkerConfig{JS: r.js, GatewayURL: r.gateway.URL, Gateway: local, MaxAttempts: o.maxAttempts,
		Backoff:         Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond},
		CallbackBackoff: Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond}, CallbackDirect: o.callbackDirect,
		Metrics: m, Log: log, Callbacks: allow, CallbackTransport: transports["lean"]})
	r.allow = allow
	r.enq = NewEnqueuer(EnqueuerConfig{JS: r.js, Functions: r.fns, MaxBody: o.maxBody, Callbacks: allow,
		AckWait: o.ackWait, Metrics: m, Log: log, OnNewQueue: r.worker.Notify, Bounds: o.bounds})
	r.async = httptest.NewServer(r.enq)
	if !o.noWorker {
		if err := r.worker.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *rig) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r.worker != nil {
		_ = r.worker.Stop(ctx)
	}
	if r.async != nil {
		r.async.Close()
	}
	if r.js != nil {
		r.js.NC.Close()
	}
	if r.emb != nil {
		r.emb.Shutdown()
	}
	r.worker, r.async, r.js, r.emb = nil, nil, nil, nil
}

// callbacks is a loopback callback receiver.
type callbacks struct {
	srv *httptest.Server
	ch  chan callback
}

type callback struct {
	header http.Header
	body   string
}

func newCallbacks(t *testing.T) *callbacks {
	c := &callbacks{ch: make(chan callback, 10000)}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf, _ := io.ReadAll(r.Body)
		c.ch <- callback{header: r.Header.Clone(), body: string(buf)}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *callbacks) next(t *testing.T, d time.Duration) callback {
	t.Helper()
	select {
	case cb := <-c.ch:
		return cb
	case <-time.After(d):
		t.Fatalf("no callback within %v", d)
		return callback{}
	}
}

// waitSettled waits until every consumer of the work stream has nothing
// pending and nothing awaiting an ack: each call has run and been acked,
// so no redelivery can follow.
func (r *rig) waitSettled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		busy, err := r.workBusy()
		if err == nil && busy == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the work stream did not settle within 10s: %s %v", busy, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// workBusy names a work consumer with messages pending or unacked ("" if none).
func (r *rig) workBusy() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := r.js.JS.Stream(ctx, StreamWork)
	if err != nil {
		return "", err
	}
	cs := st.ListConsumers(ctx)
	for ci := range cs.Info() {
		if ci.NumPending > 0 || ci.NumAckPending > 0 {
			return fmt.Sprintf("consumer %s: %d pending, %d unacked", ci.Name, ci.NumPending, ci.NumAckPending), nil
		}
	}
	return "", cs.Err()
}
