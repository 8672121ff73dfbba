package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/store"
	bolt "go.etcd.io/bbolt"
)

// counterPrefix is the key prefix of invocation totals in store.Counters;
// the rest of the key is "name.namespace".
const counterPrefix = "invocations/"

// DefaultFlushInterval is how often Durable writes totals. A crash of
// `ferry serve` (kill -9) loses at most the invocations of one interval;
// a clean shutdown loses none (Close flushes).
const DefaultFlushInterval = serveconfig.CounterFlush

// saveTimeout bounds one write of totals to a remote CounterStore.
const saveTimeout = 10 * time.Second

// CounterStore is where Durable keeps invocation totals, keyed
// "name.namespace": the data dir's store by default; a provider that keeps
// no local state (Kubernetes) implements it to keep them in the cluster.
type CounterStore interface {
	LoadCounters(ctx context.Context) (map[string]float64, error)
	// SaveCounters writes the given totals (only changed ones are passed).
	SaveCounters(ctx context.Context, totals map[string]float64) error
}

// SharedCounterStore is a CounterStore that several gateways write at once
// (the cluster's, with gateway replicas): increments are added, never
// totals overwritten, and every flush learns the other gateways' counts.
type SharedCounterStore interface {
	CounterStore
	// AddCounters adds delta to the totals atomically and returns every
	// total after the addition (delta may be empty: a read).
	AddCounters(ctx context.Context, delta map[string]float64) (map[string]float64, error)
}

// Durable keeps per-function invocation totals across restarts of
// `ferry serve` and of replicas: the total is what was flushed to the store
// plus what the Recorder counted since.
type Durable struct {
	cs  CounterStore
	rec *Recorder

	flushMu sync.Mutex // one flush at a time; mu is not held during the write
	mu      sync.Mutex
	base    map[string]float64 // flushed totals
	added   map[string]float64 // what this gateway added to a shared store
	seen    map[string]seen    // Recorder finished count at the last flush
}

type seen struct{ epoch, n uint64 }

type counterValue struct {
	Total float64 `json:"total"`
}

// OpenDurable loads the totals kept in the data dir's store.
func OpenDurable(st *store.Store, rec *Recorder) (*Durable, error) {
	return OpenDurableOn(context.Background(), storeCounters{st}, rec)
}

// OpenDurableOn loads the totals kept in cs.
func OpenDurableOn(ctx context.Context, cs CounterStore, rec *Recorder) (*Durable, error) {
	base, err := cs.LoadCounters(ctx)
	if err != nil {
		return nil, fmt.Errorf("load invocation counters: %w", err)
	}
	if base == nil {
		base = map[string]float64{}
	}
	return &Durable{cs: cs, rec: rec, base: base, seen: map[string]seen{}, added: map[string]float64{}}, nil
}

// pending is what the recorder counted since the last flush; a recorder
// that forgot the function (and restarted from 0) counts from 0 again.
func (d *Durable) pending(fn string) (uint64, seen) {
	c := d.rec.Counts(fn)
	now := seen{c.Epoch, c.Finished}
	if prev := d.seen[fn]; prev.epoch == c.Epoch && c.Finished >= prev.n {
		return c.Finished - prev.n, now
	}
	return c.Finished, now
}

// Total is fn's invocation count over all runs.
func (d *Durable) Total(fn string) float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, _ := d.pending(fn)
	return d.base[fn] + float64(p)
}

// Elsewhere is fn's flushed total less what this gateway added: with a
// shared store it grows when other gateways serve fn (as they flush).
func (d *Durable) Elsewhere(fn string) float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.base[fn] - d.added[fn]
}

// Flush writes every changed total in one call to the store. The lock that
// Total takes is not held while writing, so a slow remote store does not
// stall listings.
func (d *Durable) Flush() error {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	changes := map[string]change{}
	d.mu.Lock()
	d.rec.fns.Range(func(k, _ any) bool {
		fn := k.(string)
		if p, now := d.pending(fn); p > 0 {
			changes[fn] = change{d.base[fn] + float64(p), now}
		}
		return true
	})
	d.mu.Unlock()
	if sh, ok := d.cs.(SharedCounterStore); ok {
		return d.flushShared(sh, changes)
	}
	if len(changes) == 0 {
		return nil
	}
	totals := make(map[string]float64, len(changes))
	for fn, c := range changes {
		totals[fn] = c.total
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	if err := d.cs.SaveCounters(ctx, totals); err != nil {
		return fmt.Errorf("flush invocation counters: %w", err)
	}
	d.mu.Lock()
	for fn, c := range changes {
		d.base[fn], d.seen[fn] = c.total, c.cur
	}
	d.mu.Unlock()
	return nil
}

type change struct {
	total float64
	cur   seen
}

// flushShared adds this gateway's counts since the last flush to the
// shared totals and takes those totals as the new base, so that every
// gateway shows the count of all of them (one flush interval behind).
func (d *Durable) flushShared(sh SharedCounterStore, changes map[string]change) error {
	delta := make(map[string]float64, len(changes))
	for fn, c := range changes {
		delta[fn] = c.total - d.base[fn]
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	totals, err := sh.AddCounters(ctx, delta)
	if err != nil {
		return fmt.Errorf("flush invocation counters: %w", err)
	}
	d.mu.Lock()
	d.base = totals // a function deleted meanwhile is dropped
	for fn, c := range changes {
		d.seen[fn] = c.cur
		d.added[fn] += delta[fn]
	}
	d.mu.Unlock()
	return nil
}

// Run flushes every interval until ctx ends, then once more.
func (d *Durable) Run(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := d.Flush(); err != nil && onErr != nil {
				onErr(err)
			}
			return
		case <-t.C:
			if err := d.Flush(); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// storeCounters keeps totals in the data dir's bbolt store.
type storeCounters struct{ st *store.Store }

func (s storeCounters) LoadCounters(context.Context) (map[string]float64, error) {
	out := map[string]float64{}
	err := s.st.Each(store.Counters, counterPrefix, func(key string, val []byte) error {
		var v counterValue
		if err := json.Unmarshal(val, &v); err != nil {
			return fmt.Errorf("counter %s: %w (delete the key or the data dir's ferry.db counters)", key, err)
		}
		out[strings.TrimPrefix(key, counterPrefix)] = v.Total
		return nil
	})
	return out, err
}

func (s storeCounters) SaveCounters(_ context.Context, totals map[string]float64) error {
	return s.st.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(store.Counters))
		for fn, total := range totals {
			v, _ := json.Marshal(counterValue{Total: total})
			if err := b.Put([]byte(counterPrefix+fn), v); err != nil {
				return err
			}
		}
		return nil
	})
}
