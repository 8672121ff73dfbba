package trigger

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Source turns events into calls. Run reads subscriptions from ix, calls
// through iv, and returns when ctx is done, or with an error it could not
// get past (Run is then called again after a pause).
type Source interface {
	Name() string
	Run(ctx context.Context, ix *Index, iv *Invoker) error
}

// Run polls ix and runs every source until ctx is done, restarting a source
// that returned an error after a pause, so a broker that was down at start
// is picked up once it is back.
func Run(ctx context.Context, ix *Index, iv *Invoker, log *slog.Logger, sources ...Source) {
	var wg sync.WaitGroup
	wg.Go(func() { ix.Run(ctx) })
	for _, s := range sources {
		wg.Go(func() {
			select { // subscribe to what is deployed, not to nothing first
			case <-ix.Loaded():
			case <-ctx.Done():
				return
			}
			wait := time.Second
			for {
				err := s.Run(ctx, ix, iv)
				if ctx.Err() != nil {
					return
				}
				log.Warn("trigger stopped, restarting", "trigger", s.Name(), "err", err, "in", wait)
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				wait = min(2*wait, 30*time.Second)
			}
		})
	}
	wg.Wait()
}
