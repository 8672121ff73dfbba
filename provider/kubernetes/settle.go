package kubernetes

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Reads (Get, List, the conflict check of Deploy) come from the informer
// cache, which trails the API server by one watch event. A client that
// deploys and at once asks for the function's status (`ferry up --wait`,
// faas-cli's deploy then describe) must not be told 404, nor see the old
// version as ready after an update, nor have a call right after a deploy
// answered 404. So each write waits, bounded, until the cache shows it:
// read-your-writes through one gateway.

// settleTimeout bounds the wait; past it the write still succeeded and the
// cache catches up on its own.
const settleTimeout = 5 * time.Second

// settle polls the Deployment cache until seen(dep, found) holds.
func (p *Provider) settle(ctx context.Context, ns, name string, seen func(d *appsv1.Deployment, found bool) bool) {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		d, err := p.routes.deps.Deployments(ns).Get(name)
		if seen(d, err == nil) {
			// The route table follows the same cache through event
			// handlers, which may not have run yet: bring it up to date
			// too, so that a call right after a deploy is routed.
			p.routes.recompute(ns, name)
			return
		}
		select {
		case <-ctx.Done():
			p.log.Warn("kubernetes: informer cache has not caught up with a write", "namespace", ns, "function", name)
			return
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

// sawCreate: the cache holds this very Deployment (not a deleted namesake).
func sawCreate(uid types.UID) func(*appsv1.Deployment, bool) bool {
	return func(d *appsv1.Deployment, found bool) bool { return found && d.UID == uid }
}

// sawGeneration: the cache holds the Deployment at this spec generation or later.
func sawGeneration(uid types.UID, gen int64) func(*appsv1.Deployment, bool) bool {
	return func(d *appsv1.Deployment, found bool) bool {
		return found && (d.UID != uid || d.Generation >= gen)
	}
}

// sawDelete: the cache shows this Deployment gone or going (a foreground
// delete keeps it, marked, until its pods are gone).
func sawDelete(uid types.UID) func(*appsv1.Deployment, bool) bool {
	return func(d *appsv1.Deployment, found bool) bool {
		return !found || d.UID != uid || d.DeletionTimestamp != nil
	}
}

// sawReplicas: the cache holds the Deployment with this desired count.
func sawReplicas(n int32) func(*appsv1.Deployment, bool) bool {
	return func(d *appsv1.Deployment, found bool) bool {
		return !found || (d.Spec.Replicas != nil && *d.Spec.Replicas == n)
	}
}
