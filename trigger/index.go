package trigger

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/robfig/cron/v3"
)

// Function is what the triggers need of one deployed function.
type Function struct {
	Name, Namespace string
	// Topics are the Kafka topics or NATS subjects (CronTopic excluded).
	Topics []string
	// Cron is set by `topic: cron-function`; Schedule is then valid.
	Cron     bool
	Schedule string
	schedule cron.Schedule
	Async    bool
	Ordered  bool
	// ReplyTopic receives the answers of Kafka-triggered calls ("" = none).
	ReplyTopic  string
	Concurrency int
}

// Key is "name.namespace", as the gateway's invoke path and metrics name it.
func (f *Function) Key() string { return f.Name + "." + f.Namespace }

// Next returns the first tick of the schedule after t (cron functions only).
func (f *Function) Next(t time.Time) time.Time { return f.schedule.Next(t) }

// Catalog lists functions. Both provider.Provider (inside `ferry serve`)
// and *client.Client (a trigger on its own, through /system/functions)
// satisfy it.
type Catalog interface {
	ListNamespaces(ctx context.Context) ([]string, error)
	List(ctx context.Context, namespace string) ([]api.FunctionStatus, error)
}

// DefaultPoll is how often the Index re-reads the function list.
const DefaultPoll = serveconfig.TriggerPoll

// Index follows the deployed functions. It polls the Catalog: there is no
// change feed every provider offers, a list is one in-memory read inside
// `ferry serve` and one small GET per namespace for a remote gateway, and
// a deploy is picked up within one period. Sources are told about a
// change by a channel, and then rebuild their subscriptions.
type Index struct {
	cat    Catalog
	period time.Duration
	log    *slog.Logger

	mu      sync.Mutex
	fns     []Function
	changed chan struct{}
	loaded  chan struct{}
	once    sync.Once
	refresh sync.Mutex // one Refresh at a time; guards ignored
	// ignored are the functions skipped for bad annotations, with the
	// reason, so each is logged once, not every period.
	ignored map[string]string
}

// NewIndex returns an index that polls cat every period (default DefaultPoll).
func NewIndex(cat Catalog, period time.Duration, log *slog.Logger) *Index {
	if period <= 0 {
		period = DefaultPoll
	}
	if log == nil {
		log = slog.Default()
	}
	return &Index{cat: cat, period: period, log: log, changed: make(chan struct{}), loaded: make(chan struct{})}
}

// Run polls until ctx is done.
func (ix *Index) Run(ctx context.Context) {
	t := time.NewTicker(ix.period)
	defer t.Stop()
	for {
		if err := ix.Refresh(ctx); err != nil && ctx.Err() == nil {
			ix.log.Warn("trigger: cannot list functions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh reads the function list once.
func (ix *Index) Refresh(ctx context.Context) error {
	ix.refresh.Lock()
	defer ix.refresh.Unlock()
	nss, err := ix.cat.ListNamespaces(ctx)
	if err != nil {
		return err
	}
	var fns []Function
	ignored := map[string]string{}
	for _, ns := range nss {
		list, err := ix.cat.List(ctx, ns)
		if err != nil {
			return err
		}
		for _, st := range list {
			if st.Namespace == "" {
				st.Namespace = ns
			}
			f, err := parseFunction(st.Name, st.Namespace, st.Annotations)
			if err != nil {
				// Deployed before validation existed, or through another
				// gateway: skip the function, keep the others.
				ignored[f.Key()] = err.Error()
				if ix.ignored[f.Key()] != err.Error() {
					ix.log.Warn("trigger: function ignored", "function", f.Key(), "err", err)
				}
				continue
			}
			if f.Cron || len(f.Topics) > 0 {
				fns = append(fns, f)
			}
		}
	}
	slices.SortFunc(fns, func(a, b Function) int {
		if a.Namespace != b.Namespace {
			return cmp.Compare(a.Namespace, b.Namespace)
		}
		return cmp.Compare(a.Name, b.Name)
	})
	ix.ignored = ignored
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.once.Do(func() { close(ix.loaded) })
	if slices.EqualFunc(fns, ix.fns, sameFunction) {
		return nil
	}
	ix.fns = fns
	close(ix.changed)
	ix.changed = make(chan struct{})
	return nil
}

func sameFunction(a, b Function) bool {
	return a.Name == b.Name && a.Namespace == b.Namespace && slices.Equal(a.Topics, b.Topics) &&
		a.Cron == b.Cron && a.Schedule == b.Schedule && a.Async == b.Async && a.Ordered == b.Ordered &&
		a.ReplyTopic == b.ReplyTopic && a.Concurrency == b.Concurrency
}

// Snapshot returns the subscribed functions and a channel closed at the
// next change. The slice must not be modified.
func (ix *Index) Snapshot() ([]Function, <-chan struct{}) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.fns, ix.changed
}

// Loaded is closed after the first successful list.
func (ix *Index) Loaded() <-chan struct{} { return ix.loaded }
