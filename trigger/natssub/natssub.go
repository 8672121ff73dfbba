// Package natssub invokes functions for messages on NATS subjects: a
// function's `topic` annotation lists the subjects (wildcards allowed).
// Each function subscribes in its own queue group, so when several
// gateways share one NATS every message runs the function once, not once
// per gateway. A request (a message with a reply subject) gets the
// function's answer back.
//
// Core NATS delivers at most once: a message that arrives while no
// gateway is subscribed is not kept. Use Kafka (or the async queue) when
// every message must run.
package natssub

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/trigger"
	"github.com/nats-io/nats.go"
)

// Config of a NATS subject source.
type Config struct {
	// Connect returns the connection (owned by the caller; called again
	// after a failure, so a NATS that is not up yet is waited for).
	Connect func() (*nats.Conn, error)
	Log     *slog.Logger
	Metrics *trigger.Metrics
	// PendingMsgs and PendingBytes bound what is buffered per
	// subscription while the function's slots are busy (default 1024
	// messages, 64 MiB); NATS drops beyond either and reports a slow
	// consumer. Without the byte bound a publisher of large messages
	// grew the process by a GiB per subscription.
	PendingMsgs  int
	PendingBytes int
}

// Source is the NATS subject trigger.
type Source struct{ cfg Config }

// New returns a source.
func New(cfg Config) *Source {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.PendingMsgs <= 0 {
		cfg.PendingMsgs = 1024
	}
	if cfg.PendingBytes <= 0 {
		cfg.PendingBytes = nats.DefaultSubPendingBytesLimit
	}
	return &Source{cfg: cfg}
}

// Name implements trigger.Source.
func (s *Source) Name() string { return "nats" }

type subscription struct {
	sub *nats.Subscription
	fn  atomic.Pointer[trigger.Function]
}

// QueueGroup is the queue group of a function's subscriptions.
func QueueGroup(fn *trigger.Function) string { return "ferry-trigger." + fn.Key() }

// Run implements trigger.Source.
func (s *Source) Run(ctx context.Context, ix *trigger.Index, iv *trigger.Invoker) error {
	nc, err := s.cfg.Connect()
	if err != nil {
		s.cfg.Metrics.SetConnected("nats", false, "cannot connect ("+err.Error()+"); retrying")
		return err
	}
	var wg sync.WaitGroup
	subs := map[string]*subscription{} // key: function key + " " + subject
	defer func() {
		for _, sub := range subs {
			_ = sub.sub.Unsubscribe()
		}
		wg.Wait()
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	up := !nc.IsConnected() // force the first report
	for {
		if c := nc.IsConnected(); c != up {
			up = c
			if up {
				s.cfg.Metrics.SetConnected("nats", true, "connected to "+nc.ConnectedUrlRedacted())
			} else {
				detail := "NATS unreachable (" + nc.Status().String()
				if err := nc.LastError(); err != nil {
					detail += ": " + err.Error()
				}
				s.cfg.Metrics.SetConnected("nats", false, detail+"); reconnecting")
				s.cfg.Log.Warn("nats trigger: NATS unreachable, reconnecting", "status", nc.Status().String())
			}
		}
		fns, changed := ix.Snapshot()
		want := map[string]bool{}
		for _, fn := range fns {
			for _, subj := range fn.Topics {
				key := fn.Key() + " " + subj
				want[key] = true
				if sub, ok := subs[key]; ok {
					sub.fn.Store(&fn)
					continue
				}
				sub := &subscription{}
				sub.fn.Store(&fn)
				ns, err := nc.QueueSubscribe(subj, QueueGroup(&fn), s.handler(ctx, &wg, iv, sub, subj))
				if err != nil {
					s.cfg.Log.Warn("nats trigger: cannot subscribe", "function", fn.Key(), "subject", subj, "err", err)
					continue
				}
				_ = ns.SetPendingLimits(s.cfg.PendingMsgs, s.cfg.PendingBytes)
				sub.sub = ns
				subs[key] = sub
			}
		}
		for key, sub := range subs {
			if !want[key] {
				_ = sub.sub.Unsubscribe()
				delete(subs, key)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
		}
	}
}

// handler runs in the subscription's own goroutine: waiting there for a
// slot holds the next messages in the (bounded) pending buffer.
func (s *Source) handler(ctx context.Context, wg *sync.WaitGroup, iv *trigger.Invoker, sub *subscription, subj string) nats.MsgHandler {
	return func(m *nats.Msg) {
		fn := sub.fn.Load()
		release, err := iv.Acquire(ctx, fn)
		if err != nil {
			return
		}
		wg.Go(func() {
			defer release()
			ev := trigger.Event{Source: "nats", Topic: m.Subject, Body: m.Data}
			if len(m.Header) > 0 {
				ev.Header = map[string][]string(m.Header)
			}
			res, err := iv.Deliver(ctx, fn, ev)
			if err != nil || m.Reply == "" {
				return
			}
			reply := &nats.Msg{Subject: m.Reply, Header: nats.Header{}}
			if res != nil {
				reply.Data = res.Body
				reply.Header.Set("X-Status", strconv.Itoa(res.Status))
			} else {
				reply.Header.Set("X-Status", "202") // queued: the answer goes to the queue's callback
			}
			if err := m.RespondMsg(reply); err != nil {
				s.cfg.Log.Debug("nats trigger: reply lost", "subject", subj, "err", err)
			}
		})
	}
}
