// Package cron runs functions on the schedule of their `schedule`
// annotation (with `topic: cron-function`), as OpenFaaS's cron connector
// does, with two guarantees the connector lacks: a tick missed while the
// process was down is run once after it starts (within a grace window),
// and when several gateways share one NATS a tick runs on only one of them
// (each claims the tick with a JetStream KV Create, which fails when the
// key exists).
package cron

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/trigger"
	"github.com/nats-io/nats.go/jetstream"
)

// ClaimBucket is the KV bucket of tick claims.
const ClaimBucket = "ferry_cron_ticks"

// DefaultGrace is how late a missed tick may still run.
const DefaultGrace = serveconfig.TriggerCronGrace

// Config of a cron source.
type Config struct {
	// StatePath is the file remembering the last tick per function and
	// schedule ("" = nothing survives a restart).
	StatePath string
	// Grace: a tick missed while down runs after start if it is at most
	// this old (default DefaultGrace; only the latest missed tick runs).
	Grace time.Duration
	// Claims, when set, opens the KV bucket shared by every gateway (see
	// OpenClaims): a tick runs where its claim was created first. Nil: this
	// process is the only scheduler.
	Claims func(ctx context.Context) (jetstream.KeyValue, error)
	Log    *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// OpenClaims creates (or opens) the claim bucket. Claims expire after a
// day: a tick is never claimed again that late.
func OpenClaims(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	return js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: ClaimBucket, Description: "ferry cron: one claim per function, schedule and tick",
		TTL: 24 * time.Hour, History: 1,
	})
}

// Source is the cron trigger.
type Source struct {
	cfg    Config
	claims jetstream.KeyValue
	state  *state
	host   string

	mu      sync.Mutex
	running map[string]bool
}

// New loads the state file.
func New(cfg Config) (*Source, error) {
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	st, err := loadState(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return &Source{cfg: cfg, state: st, host: host + "/" + strconv.Itoa(os.Getpid()), running: map[string]bool{}}, nil
}

// Name implements trigger.Source.
func (s *Source) Name() string { return "cron" }

type entry struct {
	fn   trigger.Function
	next time.Time
}

func entryID(fn *trigger.Function) string { return fn.Key() + " " + fn.Schedule }

// Run implements trigger.Source.
func (s *Source) Run(ctx context.Context, ix *trigger.Index, iv *trigger.Invoker) error {
	if s.cfg.Claims != nil && s.claims == nil {
		kv, err := s.cfg.Claims(ctx)
		if err != nil {
			return fmt.Errorf("cron: tick claims: %w", err)
		}
		s.claims = kv
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	entries := map[string]*entry{}
	for {
		fns, changed := ix.Snapshot()
		s.sync(ctx, &wg, iv, fns, entries)
		var first time.Time
		for _, e := range entries {
			if first.IsZero() || e.next.Before(first) {
				first = e.next
			}
		}
		var due <-chan time.Time
		stop := func() bool { return false }
		if !first.IsZero() {
			t := time.NewTimer(first.Sub(s.cfg.Now()))
			due, stop = t.C, t.Stop
		}
		select {
		case <-ctx.Done():
			stop()
			return nil
		case <-changed:
			stop()
			continue
		case <-due:
		}
		now := s.cfg.Now()
		for _, e := range entries {
			if !e.next.After(now) {
				s.fire(ctx, &wg, iv, e, e.next, entries)
				// After a long stall (a suspended machine) the ticks in
				// between are not replayed one by one: one run stands for them.
				e.next = e.fn.Next(now)
			}
		}
	}
}

// sync follows the subscriptions; a new entry runs its latest missed tick
// when the state file says it was missed within the grace window.
func (s *Source) sync(ctx context.Context, wg *sync.WaitGroup, iv *trigger.Invoker, fns []trigger.Function, entries map[string]*entry) {
	seen := map[string]bool{}
	now := s.cfg.Now()
	for _, fn := range fns {
		if !fn.Cron {
			continue
		}
		id := entryID(&fn)
		seen[id] = true
		if e, ok := entries[id]; ok {
			e.fn = fn // same schedule; other settings may have changed
			continue
		}
		e := &entry{fn: fn, next: fn.Next(now)}
		entries[id] = e
		last, ok := s.state.get(id)
		if !ok && s.claims != nil {
			// Where no local state survives (a new pod of the cluster's
			// trigger Deployment), the shared claims say when the
			// function last ran, or was first seen, on any scheduler.
			last, ok = s.lastShared(ctx, id, now)
		}
		if !ok {
			// First sight: remember it, so a tick missed from now on is
			// caught up after a restart.
			if err := s.state.set(id, now, s.keep(entries)); err != nil {
				s.cfg.Log.Warn("cron: cannot save state", "err", err)
			}
			continue
		}
		var missed time.Time
		for t := fn.Next(maxTime(last, now.Add(-s.cfg.Grace))); !t.After(now); t = fn.Next(t) {
			missed = t
		}
		if !missed.IsZero() {
			s.cfg.Log.Info("cron: running a tick missed while down", "function", fn.Key(), "tick", missed)
			s.fire(ctx, wg, iv, e, missed, entries)
		}
	}
	for id := range entries {
		if !seen[id] {
			delete(entries, id)
		}
	}
}

func (s *Source) keep(entries map[string]*entry) func(string) bool {
	return func(id string) bool { _, ok := entries[id]; return ok }
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// fire runs one tick: claim it, record it, then call the function. The
// tick is recorded before the call so a restart never runs it again; the
// call itself is then the gateway's to finish.
func (s *Source) fire(ctx context.Context, wg *sync.WaitGroup, iv *trigger.Invoker, e *entry, tick time.Time, entries map[string]*entry) {
	fn, id := e.fn, entryID(&e.fn)
	s.mu.Lock()
	busy := s.running[id]
	s.mu.Unlock()
	if busy {
		// Ticks of a function slower than its schedule do not pile up.
		s.cfg.Log.Warn("cron: previous run still going, tick skipped", "function", fn.Key(), "tick", tick)
		return
	}
	if s.claims != nil {
		key := "tick." + claimID(id) + "." + strconv.FormatInt(tick.Unix(), 10)
		_, err := s.claims.Create(ctx, key, []byte(s.host))
		if errors.Is(err, jetstream.ErrKeyExists) {
			s.saveLast(id, tick, entries)
			return
		}
		if err != nil {
			// Running unclaimed could run the tick twice; a scheduler
			// that cannot reach its peers skips it and says so.
			s.cfg.Log.Error("cron: cannot claim tick (NATS unreachable?), skipped", "function", fn.Key(), "tick", tick, "err", err)
			return
		}
	}
	s.saveLast(id, tick, entries)
	s.mu.Lock()
	s.running[id] = true
	s.mu.Unlock()
	wg.Go(func() {
		defer func() {
			s.mu.Lock()
			delete(s.running, id)
			s.mu.Unlock()
		}()
		release, err := iv.Acquire(ctx, &fn)
		if err != nil {
			return
		}
		defer release()
		h := http.Header{}
		h.Set("X-Cron-Tick", tick.UTC().Format(time.RFC3339))
		h.Set("X-Cron-Schedule", fn.Schedule)
		if _, err := iv.Deliver(ctx, &fn, trigger.Event{Source: "cron", Topic: trigger.CronTopic, Header: h}); err != nil {
			s.cfg.Log.Warn("cron: run interrupted", "function", fn.Key(), "tick", tick, "err", err)
		}
	})
}

func (s *Source) saveLast(id string, tick time.Time, entries map[string]*entry) {
	if err := s.state.set(id, tick, s.keep(entries)); err != nil {
		s.cfg.Log.Warn("cron: cannot save state", "err", err)
	}
}

// claimID names an entry in the claim bucket's keys.
func claimID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:12])
}

// lastShared is the entry's latest claimed tick, or the time any
// scheduler first saw it, from the claim bucket; ok false (after noting
// now as first sight) when the bucket knows nothing of it. An unreachable
// bucket counts as knowing nothing: no catch-up rather than a guess.
func (s *Source) lastShared(ctx context.Context, id string, now time.Time) (last time.Time, ok bool) {
	c := claimID(id)
	seenKey := "seen." + c
	if _, err := s.claims.Create(ctx, seenKey, []byte(strconv.FormatInt(now.Unix(), 10))); err == nil {
		return time.Time{}, false // the first scheduler to see it
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		s.cfg.Log.Warn("cron: cannot read the shared ticks, no catch-up", "err", err)
		return time.Time{}, false
	}
	if e, err := s.claims.Get(ctx, seenKey); err == nil {
		if sec, err := strconv.ParseInt(string(e.Value()), 10, 64); err == nil {
			last, ok = time.Unix(sec, 0), true
		}
	}
	keys, err := s.claims.ListKeysFiltered(ctx, "tick."+c+".*")
	if err != nil {
		return last, ok
	}
	defer keys.Stop()
	for k := range keys.Keys() {
		if sec, err := strconv.ParseInt(k[len("tick.")+len(c)+1:], 10, 64); err == nil {
			if t := time.Unix(sec, 0); !ok || t.After(last) {
				last, ok = t, true
			}
		}
	}
	return last, ok
}
