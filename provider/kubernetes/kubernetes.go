// Package kubernetes is Ferry's provider for Kubernetes: each function is a
// Deployment plus a Service labelled faas_function=NAME in a function
// namespace (a namespace labelled openfaas=1), created through client-go.
// The cluster is the only store: Ferry keeps no state of its own, so a
// Deployment made with kubectl that carries the label shows up at once.
// Invocations go straight to ready pod IPs from EndpointSlices held in an
// informer cache, never through the Service VIP.
package kubernetes

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

var _ provider.Provider = (*Provider)(nil)

// Config for New.
type Config struct {
	// Kubeconfig path; empty means $KUBECONFIG, then in-cluster config.
	Kubeconfig string
	// DefaultNamespace is created (and marked) at start when missing.
	DefaultNamespace string
	Log              *slog.Logger
	// Resync of the informers (0: none).
	Resync time.Duration
	// ImagePullPolicy of function pods: IfNotPresent (default), Always or
	// Never (images imported into the node's runtime, no registry).
	ImagePullPolicy string
	// Dynamic is the client for Function objects (nil: they are ignored).
	Dynamic dynamic.Interface
	// NoDirectReadiness turns off the direct /_/ready check of starting pods
	// of a function with no ready replica (see warm.go): routes then wait
	// for the kubelet's probe to reach the EndpointSlice.
	NoDirectReadiness bool
	// Check runs on a Function object's deployment after its own
	// validation: the checks the gateway runs on a REST deploy (scaling
	// labels, trigger annotations), so that objects pass the same ones.
	Check func(*api.FunctionDeployment) error
}

// Provider implements provider.Provider on a Kubernetes cluster.
type Provider struct {
	cfg    Config
	client kubernetes.Interface
	// dyn reads and writes Function objects (nil: they are ignored).
	dyn     dynamic.Interface
	factory informers.SharedInformerFactory
	// nsFactory caches the namespaces marked openfaas=1.
	nsFactory informers.SharedInformerFactory
	nsLister  corelisters.NamespaceLister
	routes    *routeTable
	stop      chan struct{}
	once      sync.Once
	log       *slog.Logger

	counterMu    sync.Mutex
	counterSaved map[string]float64 // per function: the total this gateway last loaded or saved
}

// RESTConfig loads a kubeconfig: the path, else $KUBECONFIG, else the
// in-cluster service account.
func RESTConfig(path string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	rc, err := cc.ClientConfig()
	if err != nil {
		if ic, ierr := rest.InClusterConfig(); ierr == nil {
			return ic, nil
		}
		return nil, fmt.Errorf("no Kubernetes config: %v (pass --kubeconfig or set KUBECONFIG)", err)
	}
	return rc, nil
}

// New connects to the cluster, starts the informers (Deployments, Pods and
// EndpointSlices) and waits for their first sync.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	rc, err := RESTConfig(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	rc.QPS, rc.Burst = 100, 200
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	if cfg.Dynamic, err = dynamic.NewForConfig(rc); err != nil {
		return nil, err
	}
	return NewForClient(ctx, client, cfg)
}

// NewForClient is New with an existing clientset.
func NewForClient(ctx context.Context, client kubernetes.Interface, cfg Config) (*Provider, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.DefaultNamespace == "" {
		cfg.DefaultNamespace = api.DefaultNamespace
	}
	switch corev1.PullPolicy(cfg.ImagePullPolicy) {
	case "":
		cfg.ImagePullPolicy = string(corev1.PullIfNotPresent)
	case corev1.PullIfNotPresent, corev1.PullAlways, corev1.PullNever:
	default:
		return nil, fmt.Errorf("--kube-image-pull-policy %q: use IfNotPresent, Always or Never", cfg.ImagePullPolicy)
	}
	p := &Provider{cfg: cfg, client: client, dyn: cfg.Dynamic, stop: make(chan struct{}), log: cfg.Log}
	if err := p.ensureDefaultNamespace(ctx); err != nil {
		return nil, err
	}
	// Only objects labelled faas_function are cached: function Deployments
	// and pods, and the EndpointSlices of function Services (the
	// EndpointSlice controller copies the Service's labels onto them).
	p.factory = informers.NewSharedInformerFactoryWithOptions(client, cfg.Resync,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = LabelFunction }))
	p.routes = newRouteTable()
	if !cfg.NoDirectReadiness {
		p.routes.warm = newWarmer(p.stop, p.routes.recompute)
	}
	deps := p.factory.Apps().V1().Deployments().Informer()
	slices := p.factory.Discovery().V1().EndpointSlices().Informer()
	pods := p.factory.Core().V1().Pods().Informer()
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { p.routes.onChange(o) },
		UpdateFunc: func(_, o any) { p.routes.onChange(o) },
		DeleteFunc: func(o any) { p.routes.onChange(o) },
	}
	deps.AddEventHandler(h)
	slices.AddEventHandler(h)
	pods.AddEventHandler(h)
	p.routes.deps = p.factory.Apps().V1().Deployments().Lister()
	p.routes.slices = p.factory.Discovery().V1().EndpointSlices().Lister()
	p.routes.pods = p.factory.Core().V1().Pods().Lister()
	// Marked namespaces, cached too: the metrics and autoscale loops list
	// them every second.
	p.nsFactory = informers.NewSharedInformerFactoryWithOptions(client, cfg.Resync,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = LabelNamespace + "=1" }))
	p.nsLister = p.nsFactory.Core().V1().Namespaces().Lister()
	p.nsFactory.Core().V1().Namespaces().Informer()
	p.nsFactory.Start(p.stop)
	p.factory.Start(p.stop)
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, f := range []informers.SharedInformerFactory{p.factory, p.nsFactory} {
		for typ, ok := range f.WaitForCacheSync(sctx.Done()) {
			if !ok {
				close(p.stop)
				return nil, fmt.Errorf("kubernetes: %v cache did not sync: is the API server reachable, and may the service account list and watch it?", typ)
			}
		}
	}
	return p, nil
}

// Info names this provider.
func (p *Provider) Info() api.ProviderInfo {
	return api.ProviderInfo{Name: "ferry-kubernetes", Orchestration: "kubernetes", Version: api.VersionInfo{Release: "v1"}}
}

// Close stops the informers; functions keep running in the cluster.
func (p *Provider) Close(context.Context) error {
	p.once.Do(func() { close(p.stop) })
	return nil
}
