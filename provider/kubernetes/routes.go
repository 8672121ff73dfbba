package kubernetes

import (
	"net"
	"sort"
	"strconv"
	"sync"

	"github.com/ferryfaas/ferry/provider"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// routeTable holds, per function, the route the gateway needs, rebuilt from
// the informer caches on every event that touches the function, so that
// Route is a map read and waiting for readiness is waiting on a channel.
type routeTable struct {
	mu      sync.RWMutex
	entries map[string]*routeEntry
	// recomputeMu serialises recomputes: the three informers call in from
	// their own goroutines, and a slow one must not overwrite a newer route.
	recomputeMu sync.Mutex
	warm        *warmer // nil: wait for the kubelet's readiness only

	deps   appslisters.DeploymentLister
	slices discoverylisters.EndpointSliceLister
	pods   corelisters.PodLister
}

type routeEntry struct {
	route   provider.Route
	changed chan struct{}
}

func newRouteTable() *routeTable { return &routeTable{entries: map[string]*routeEntry{}} }

func (t *routeTable) get(ns, name string) (provider.Route, bool) {
	t.mu.RLock()
	e, ok := t.entries[ns+"/"+name]
	t.mu.RUnlock()
	if !ok {
		return provider.Route{}, false
	}
	r := e.route
	r.Changed = e.changed
	return r, true
}

// onChange recomputes the route of the function an object belongs to.
func (t *routeTable) onChange(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	var ns, name string
	switch o := obj.(type) {
	case *appsv1.Deployment:
		ns, name = o.Namespace, o.Labels[LabelFunction]
	case *discoveryv1.EndpointSlice:
		ns, name = o.Namespace, o.Labels[discoveryv1.LabelServiceName]
	case *corev1.Pod:
		ns, name = o.Namespace, o.Labels[LabelFunction]
	}
	if name == "" {
		return
	}
	t.recompute(ns, name)
}

func (t *routeTable) recompute(ns, name string) {
	t.recomputeMu.Lock()
	defer t.recomputeMu.Unlock()
	key := ns + "/" + name
	dep, err := t.deps.Deployments(ns).Get(name)
	if err != nil || dep.Labels[LabelFunction] == "" {
		t.mu.Lock()
		if e, ok := t.entries[key]; ok {
			close(e.changed)
			delete(t.entries, key)
		}
		t.mu.Unlock()
		return
	}
	r := provider.Route{Desired: 1, Timeout: provider.TimeoutOf(envOf(dep))}
	if dep.Spec.Replicas != nil {
		r.Desired = uint64(*dep.Spec.Replicas)
	}
	r.Endpoints = t.endpoints(ns, name)
	pods := t.functionPods(ns, name)
	if r.Endpoints == nil && !t.hasSlices(ns, name) {
		// No Service (e.g. a Deployment made with kubectl alone): the
		// pods' own Ready condition is the next best source.
		r.Endpoints = readyPods(pods)
	}
	t.warm.observe(pods)
	if len(r.Endpoints) == 0 && r.Desired > 0 {
		r.Endpoints = t.warm.endpoints(pods, ns, name)
	}
	if len(r.Endpoints) == 0 {
		r.Failure = t.failure(pods)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old, ok := t.entries[key]
	if ok && sameRoute(old.route, r) {
		return
	}
	if ok {
		close(old.changed)
	}
	t.entries[key] = &routeEntry{route: r, changed: make(chan struct{})}
}

// endpoints lists the ready pod addresses of the function's Service.
func (t *routeTable) endpoints(ns, name string) []provider.Endpoint {
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name})
	slices, _ := t.slices.EndpointSlices(ns).List(sel)
	var out []provider.Endpoint
	for _, s := range slices {
		port := watchdogPort
		for _, p := range s.Ports {
			if p.Port != nil && (p.Name == nil || *p.Name == "http" || *p.Name == "") {
				port = int(*p.Port)
			}
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			if len(ep.Addresses) == 0 {
				continue
			}
			inst := ep.Addresses[0]
			if ep.TargetRef != nil {
				inst = ep.TargetRef.Name
			}
			out = append(out, provider.Endpoint{Address: net.JoinHostPort(ep.Addresses[0], strconv.Itoa(port)), Instance: inst})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// failure explains why a function's pods cannot become ready, from their
// container states (bad image, crash loop, bad config), or "" while they
// are merely starting.
func (t *routeTable) failure(pods []*corev1.Pod) string {
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil {
				switch w.Reason {
				case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CrashLoopBackOff",
					"CreateContainerConfigError", "CreateContainerError", "RunContainerError", "ErrImageNeverPull":
					return "pod " + p.Name + ": " + w.Reason + ": " + w.Message
				}
			}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return "pod " + p.Name + " cannot be scheduled: " + c.Message
			}
		}
	}
	return ""
}

func sameRoute(a, b provider.Route) bool {
	if a.Desired != b.Desired || a.Failure != b.Failure || a.Timeout != b.Timeout || len(a.Endpoints) != len(b.Endpoints) {
		return false
	}
	for i := range a.Endpoints {
		if a.Endpoints[i] != b.Endpoints[i] {
			return false
		}
	}
	return true
}

func envOf(dep *appsv1.Deployment) map[string]string {
	env := map[string]string{}
	if cs := dep.Spec.Template.Spec.Containers; len(cs) > 0 {
		for _, e := range cs[0].Env {
			env[e.Name] = e.Value
		}
	}
	return env
}

// Route implements provider.Resolver from the informer caches.
func (p *Provider) Route(namespace, name string) (provider.Route, bool) {
	return p.routes.get(namespace, name)
}

func (t *routeTable) hasSlices(ns, name string) bool {
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name})
	slices, _ := t.slices.EndpointSlices(ns).List(sel)
	return len(slices) > 0
}

// readyPods lists the live pods the kubelet reports Ready.
func readyPods(pods []*corev1.Pod) []provider.Endpoint {
	var out []provider.Endpoint
	for _, p := range pods {
		if live(p) && podReady(p) {
			out = append(out, provider.Endpoint{Address: net.JoinHostPort(p.Status.PodIP, strconv.Itoa(watchdogPort)), Instance: p.Name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}
