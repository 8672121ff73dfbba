// Package kube adds `ferry serve --provider kubernetes` to a ferry binary:
// functions become Deployments and Services in the cluster named by
// --kubeconfig, $KUBECONFIG or the in-cluster service account. It lives
// outside package cli so that the default ferry binary does not link
// client-go (whose API registrations alone cost ~18 MB of resident memory);
// cmd/ferry-kubernetes imports it, and `ferry serve --provider kubernetes`
// hands over to that binary.
//
// Its settings are flags of every ferry binary (--kube-image-pull-policy,
// --kube-direct-readiness, in cli.KubeSettings), so that the default
// binary parses them before handing over.
package kube

import (
	"context"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/cli"
	"github.com/ferryfaas/ferry/gateway"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/provider/kubernetes"
)

func init() {
	cli.RegisterProvider("kubernetes", func(ctx context.Context, s *cli.Server) (provider.Provider, error) {
		return kubernetes.New(ctx, kubernetes.Config{
			Kubeconfig:        s.Kubeconfig,
			DefaultNamespace:  s.DefaultNamespace,
			Log:               s.Log.With("provider", "kubernetes"),
			ImagePullPolicy:   s.Kube.ImagePullPolicy,
			NoDirectReadiness: !s.Kube.DirectReadiness,
			Check:             func(d *api.FunctionDeployment) error { return gateway.CheckDeployment(d, 0) },
		})
	})
}
