package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Service owns the queue in `ferry serve`: the NATS connection (and the
// embedded server), the enqueue handler, the dead-letter routes and the
// embedded worker. It starts eagerly (Run with Eager, e.g. when the store
// holds queued calls or an external NATS is used) or on the first async
// request, so that a server that never queues anything does not pay the
// embedded NATS server's memory (about 25 MB RSS).
type Service struct {
	cfg ServiceConfig

	enq   atomic.Pointer[Enqueuer]
	mu    sync.Mutex // serialises start and stop
	runCx context.Context
	js    *JetStream
	close func()
	wk    *Worker
	dl    *DeadLetterHandlers
	done  bool
}

// ServiceConfig wires a Service.
type ServiceConfig struct {
	// Connect starts or dials NATS; close releases what it started.
	Connect func() (js *JetStream, close func(), err error)
	// Eager starts at Run instead of on first use.
	Eager bool
	// Retry keeps trying an eager start that failed (an external NATS not
	// up yet, e.g. a pod started beside it) instead of failing Run: the
	// gateway serves everything else meanwhile, async calls get 503.
	Retry bool
	// Enqueuer is the enqueue configuration without JS/OnNewQueue.
	Enqueuer EnqueuerConfig
	// Worker, if not nil, runs a worker in this process (JS is filled in).
	Worker  *WorkerConfig
	AckWait time.Duration
	Metrics *Metrics
	Log     *slog.Logger
}

// NewService builds a stopped service.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	return &Service{cfg: cfg}
}

// Run records the context workers run under (cancelled on SIGTERM) and
// starts the service if it is eager.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	s.runCx = ctx
	s.mu.Unlock()
	if !s.cfg.Eager {
		return nil
	}
	_, err := s.start()
	if err == nil || !s.cfg.Retry || Refused(err) {
		return err
	}
	s.cfg.Log.Warn("async queue not started yet; retrying", "err", err)
	go s.retryStart(ctx)
	return nil
}

// retryStart tries start again, a second apart and then up to 10 s apart,
// until it succeeds (an async call may start it first) or ctx ends.
func (s *Service) retryStart(ctx context.Context) {
	for wait := time.Second; ; wait = min(2*wait, 10*time.Second) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		_, err := s.start()
		if err == nil || s.isDone() {
			return
		}
		s.cfg.Log.Warn("async queue not started yet; retrying", "err", err, "in", min(2*wait, 10*time.Second))
	}
}

func (s *Service) isDone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// start connects, sets up streams and starts the worker, once.
func (s *Service) start() (*Enqueuer, error) {
	if e := s.enq.Load(); e != nil {
		return e, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.enq.Load(); e != nil {
		return e, nil
	}
	if s.done {
		return nil, errors.New("queue is shutting down")
	}
	if s.runCx == nil {
		return nil, errors.New("queue not running yet")
	}
	js, closeFn, err := s.cfg.Connect()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(s.runCx, 30*time.Second)
	defer cancel()
	if err := Setup(ctx, js, s.cfg.AckWait, &s.cfg.Enqueuer.Bounds); err != nil {
		closeFn()
		return nil, err
	}
	ecfg := s.cfg.Enqueuer
	ecfg.JS, ecfg.AckWait, ecfg.Metrics, ecfg.Log = js, s.cfg.AckWait, s.cfg.Metrics, s.cfg.Log
	if s.cfg.Worker != nil {
		wcfg := *s.cfg.Worker
		wcfg.JS, wcfg.AckWait, wcfg.Metrics, wcfg.Log = js, s.cfg.AckWait, s.cfg.Metrics, s.cfg.Log
		s.wk = NewWorker(wcfg)
		if err := s.wk.Start(s.runCx); err != nil {
			closeFn()
			return nil, fmt.Errorf("start queue worker: %w", err)
		}
		ecfg.OnNewQueue = s.wk.Notify
	}
	s.js, s.close = js, closeFn
	s.dl = &DeadLetterHandlers{JS: js, DefaultNamespace: ecfg.DefaultNamespace}
	s.cfg.Metrics.attach(js)
	e := NewEnqueuer(ecfg)
	s.enq.Store(e)
	s.cfg.Log.Info("async queue started")
	return e, nil
}

// Stop lets the worker finish its running calls (until ctx is done) and
// closes NATS.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	var err error
	if s.wk != nil {
		err = s.wk.Stop(ctx)
	}
	if s.close != nil {
		s.close()
	}
	return err
}

// Async is the /async-function/ handler.
func (s *Service) Async() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := s.enq.Load()
		if e == nil {
			// Not started: refuse bad targets without starting NATS for them.
			probe := NewEnqueuer(s.cfg.Enqueuer)
			name, ns, _, err := probe.parseTarget(r)
			if err == nil {
				if _, ok := s.cfg.Enqueuer.Functions.Route(ns, name); !ok {
					err = notFound(name, ns)
				}
			}
			if err != nil {
				writeError(w, err)
				return
			}
			if e, err = s.start(); err != nil {
				writeError(w, unavailable(err))
				return
			}
		}
		e.ServeHTTP(w, r)
	})
}

// DeadLetterList serves GET /system/queue/dead-letters.
func (s *Service) DeadLetterList() http.Handler {
	return s.deadLetters(func(d *DeadLetterHandlers) http.Handler { return d.List() })
}

// DeadLetterRedrive serves POST /system/queue/dead-letters/redrive.
func (s *Service) DeadLetterRedrive() http.Handler {
	return s.deadLetters(func(d *DeadLetterHandlers) http.Handler { return d.Redrive() })
}

func (s *Service) deadLetters(h func(*DeadLetterHandlers) http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.start(); err != nil {
			writeError(w, unavailable(err))
			return
		}
		s.mu.Lock()
		d := s.dl
		s.mu.Unlock()
		h(d).ServeHTTP(w, r)
	})
}
