package containerd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/snapshots"
)

// Reap removes every replica in the namespace that keep does not claim
// (nil keeps none): its task, container and snapshot, and then any netns,
// IP lease, writable snapshot or secrets copy that no remaining container
// owns (what a kill -9 between two steps of Start leaves). Call it with
// the live replicas' instances after containerd restarts.
func (r *Runtime) Reap(ctx context.Context, keep func(instance string) bool) error {
	ctx = r.ns(ctx)
	cs, err := r.client.Containers(ctx)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	live := map[string]bool{}
	for _, c := range cs {
		labels, err := c.Labels(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if keep != nil && keep(labels[labelInstance]) {
			live[c.ID()] = true
			continue
		}
		if err := r.remove(ctx, c.ID(), labels[labelNetns]); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", c.ID(), err))
		}
	}
	errs = append(errs, r.reapNetns(ctx, live), r.reapLeases(ctx, live), r.reapSnapshots(ctx, live), r.reapSecrets(live))
	return errors.Join(errs...)
}

// reapNetns removes this namespace's netns files that no container owns.
func (r *Runtime) reapNetns(ctx context.Context, live map[string]bool) error {
	ents, err := os.ReadDir(netnsDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	prefix := r.netnsName("")
	var errs []error
	for _, e := range ents {
		id, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || live[id] {
			continue
		}
		p := filepath.Join(netnsDir, e.Name())
		errs = append(errs, r.detach(ctx, id, p), removeNetns(p))
	}
	return errors.Join(errs...)
}

// reapLeases releases host-local IP leases whose container is gone. Its
// files are named by IP and hold "<container id>\r\n<ifname>".
func (r *Runtime) reapLeases(ctx context.Context, live map[string]bool) error {
	dir := filepath.Join(r.ipamDir(), r.networkName())
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "last_reserved_ip") || e.Name() == "lock" {
			continue
		}
		p := filepath.Join(dir, e.Name())
		id, err := leaseOwner(p)
		if err != nil || live[id] {
			continue
		}
		// Through CNI first, so the plugin's own bookkeeping agrees.
		r.detach(ctx, id, filepath.Join(netnsDir, r.netnsName(id)))
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func leaseOwner(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return "", errors.New("empty lease")
	}
	return strings.TrimSpace(sc.Text()), nil
}

// reapSnapshots removes replicas' writable snapshots that no container
// owns; image layers carry no such label and stay.
func (r *Runtime) reapSnapshots(ctx context.Context, live map[string]bool) error {
	sn := r.client.SnapshotService(r.cfg.Snapshotter)
	var stale []string
	err := sn.Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		if id := info.Labels[labelSnapshot]; id != "" && !live[id] {
			stale = append(stale, info.Name)
		}
		return nil
	})
	var errs []error
	for _, k := range stale {
		errs = append(errs, sn.Remove(ctx, k))
	}
	return errors.Join(append(errs, err)...)
}

func (r *Runtime) reapSecrets(live map[string]bool) error {
	return clearDir(filepath.Join(r.cfg.StateDir, "secrets"), func(id string) bool { return live[id] })
}
