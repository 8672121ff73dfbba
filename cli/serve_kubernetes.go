package cli

import (
	"context"
	"os"

	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/provider/kubernetes"
	"github.com/spf13/pflag"
)

// `ferry serve --provider kubernetes`: functions become Deployments and
// Services in the cluster named by --kubeconfig, $KUBECONFIG or the
// in-cluster service account.
func init() {
	var kubeconfig, pullPolicy string
	var directReady bool
	registerServePlugin(ServePlugin{
		Name: "kubernetes",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig for --provider kubernetes (default: $KUBECONFIG, else in-cluster)")
			fs.BoolVar(&directReady, "direct-readiness", true, "for --provider kubernetes: route to a starting pod of a function with no ready replica as soon as its watchdog answers /_/ready, before the kubelet's probe reaches the EndpointSlice (faster scale from zero)")
			fs.StringVar(&pullPolicy, "image-pull-policy", envOr("FERRY_IMAGE_PULL_POLICY", "IfNotPresent"), "function pods' imagePullPolicy for --provider kubernetes: IfNotPresent, Always or Never (images imported on the nodes)")
		},
		Setup: func(context.Context, *Server) error { return nil },
	})
	extraProviders["kubernetes"] = func(ctx context.Context, s *Server) (provider.Provider, error) {
		return kubernetes.New(ctx, kubernetes.Config{
			Kubeconfig:        kubeconfig,
			DefaultNamespace:  s.DefaultNamespace,
			ImagePullPolicy:   pullPolicy,
			NoDirectReadiness: !directReady,
			Log:               s.Log.With("provider", "kubernetes"),
		})
	}
}
