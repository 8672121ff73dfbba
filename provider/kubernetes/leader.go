package kubernetes

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/provider"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

var _ provider.Elector = (*Provider)(nil)

// LeaseNamespace is where the gateways' Lease lives: the gateway's own
// namespace in the cluster (its service account's), else openfaas, the
// namespace deploy/kubernetes installs the gateway in.
func LeaseNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return "openfaas"
}

// Elect campaigns for a coordination.k8s.io Lease with client-go's leader
// election until ctx ends; see provider.Elector. A term that is lost (the
// API server unreachable for RenewDeadline) is followed by a new campaign.
func (p *Provider) Elect(ctx context.Context, o provider.ElectOptions, lead func(context.Context)) {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: o.Name, Namespace: LeaseNamespace()},
		Client:     p.client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, Name: o.Name,
			LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod,
			// A gateway that stops cleanly (rolling update) hands over at
			// once instead of after LeaseDuration.
			ReleaseOnCancel: true,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: lead,
				OnStoppedLeading: func() {},
				OnNewLeader: func(id string) {
					p.log.Info("gateway leader", "identity", id, "self", id == o.Identity, "lease", lock.LeaseMeta.Namespace+"/"+o.Name)
				},
			},
		})
		if err != nil {
			p.log.Error("leader election off: this gateway makes no once-only decisions", "err", err)
			return
		}
		le.Run(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(o.RetryPeriod):
		}
	}
}
