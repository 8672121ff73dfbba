package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/store"
	bolt "go.etcd.io/bbolt"
)

// counterPrefix is the key prefix of invocation totals in store.Counters;
// the rest of the key is "name.namespace".
const counterPrefix = "invocations/"

// DefaultFlushInterval is how often Durable writes totals. A crash of
// `ferry serve` (kill -9) loses at most the invocations of one interval;
// a clean shutdown loses none (Close flushes).
const DefaultFlushInterval = 5 * time.Second

// Durable keeps per-function invocation totals across restarts of
// `ferry serve` and of replicas: the total is what was flushed to the store
// plus what the Recorder counted since.
type Durable struct {
	st  *store.Store
	rec *Recorder

	mu   sync.Mutex
	base map[string]float64 // flushed totals
	seen map[string]seen    // Recorder finished count at the last flush
}

type seen struct{ epoch, n uint64 }

type counterValue struct {
	Total float64 `json:"total"`
}

// OpenDurable loads the stored totals.
func OpenDurable(st *store.Store, rec *Recorder) (*Durable, error) {
	d := &Durable{st: st, rec: rec, base: map[string]float64{}, seen: map[string]seen{}}
	err := st.Each(store.Counters, counterPrefix, func(key string, val []byte) error {
		var v counterValue
		if err := json.Unmarshal(val, &v); err != nil {
			return fmt.Errorf("counter %s: %w (delete the key or the data dir's ferry.db counters)", key, err)
		}
		d.base[strings.TrimPrefix(key, counterPrefix)] = v.Total
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load invocation counters: %w", err)
	}
	return d, nil
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

// Flush writes every changed total in one transaction.
func (d *Durable) Flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	type change struct {
		fn    string
		total float64
		cur   seen
	}
	var changes []change
	d.rec.fns.Range(func(k, _ any) bool {
		fn := k.(string)
		if p, now := d.pending(fn); p > 0 {
			changes = append(changes, change{fn, d.base[fn] + float64(p), now})
		}
		return true
	})
	if len(changes) == 0 {
		return nil
	}
	err := d.st.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(store.Counters))
		for _, c := range changes {
			v, _ := json.Marshal(counterValue{Total: c.total})
			if err := b.Put([]byte(counterPrefix+c.fn), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("flush invocation counters: %w", err)
	}
	for _, c := range changes {
		d.base[c.fn], d.seen[c.fn] = c.total, c.cur
	}
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
