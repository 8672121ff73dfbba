// Package kube adds `ferry serve --provider kubernetes` to a ferry binary:
// functions become Deployments and Services in the cluster named by
// --kubeconfig, $KUBECONFIG or the in-cluster service account. It lives
// outside package cli so that the default ferry binary does not link
// client-go (whose API registrations alone cost ~18 MB of resident memory);
// cmd/ferry-kubernetes imports it, and `ferry serve --provider kubernetes`
// hands over to that binary.
//
// Settings of this provider only are read from the environment, because
// the default ferry binary parses the flags before handing over:
//
//	FERRY_KUBE_IMAGE_PULL_POLICY  function pods' imagePullPolicy: IfNotPresent (default), Always, Never
//	FERRY_KUBE_DIRECT_READINESS   0 turns off routing to a starting pod as soon as its
//	                              watchdog answers /_/ready (scale from zero then waits
//	                              for the kubelet's probe to reach the EndpointSlice)
package kube

import (
	"context"
	"os"

	"github.com/ferryfaas/ferry/cli"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/provider/kubernetes"
)

func init() {
	cli.RegisterProvider("kubernetes", func(ctx context.Context, s *cli.Server) (provider.Provider, error) {
		return kubernetes.New(ctx, kubernetes.Config{
			Kubeconfig:        s.Kubeconfig,
			DefaultNamespace:  s.DefaultNamespace,
			Log:               s.Log.With("provider", "kubernetes"),
			ImagePullPolicy:   os.Getenv("FERRY_KUBE_IMAGE_PULL_POLICY"),
			NoDirectReadiness: os.Getenv("FERRY_KUBE_DIRECT_READINESS") == "0",
		})
	})
}
