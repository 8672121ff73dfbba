package kubernetes

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/provider"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Cold starts without the kubelet's probe delay. A pod's readiness reaches
// the EndpointSlice only after the kubelet's next relist (up to 1 s on
// containerd 1.6, which has no CRI events) and its next readiness probe
// (periodSeconds is at least 1 s). For a function with no ready replica,
// the route table therefore checks the watchdog's /_/ready itself as soon
// as the pod informer reports the pod's IP (an event), and routes to a pod
// that answers 200 until the kubelet's own verdict arrives: once the pod's
// Ready condition has been True, only the EndpointSlice counts.

const (
	warmInterval = 20 * time.Millisecond
	warmFor      = 2 * time.Minute // a pod that is not ready by then is left to the kubelet
)

// warmer tracks the direct readiness checks of not-yet-ready pods.
type warmer struct {
	mu        sync.Mutex
	probing   map[types.UID]bool
	ready     map[types.UID]bool
	confirmed map[types.UID]bool // Ready has been True: the kubelet decides from now on
	client    *http.Client
	stop      <-chan struct{}
	changed   func(ns, name string)
	port      int // the watchdog's; tests change it
}

func newWarmer(stop <-chan struct{}, changed func(ns, name string)) *warmer {
	return &warmer{probing: map[types.UID]bool{}, ready: map[types.UID]bool{}, confirmed: map[types.UID]bool{}, stop: stop, changed: changed,
		client: &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}, port: watchdogPort}
}

// live: a pod that is not terminating and has an IP.
func live(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.PodIP != "" && p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// endpoints returns the pods of a function that answered /_/ready and
// starts checks for new candidates. Called with no ready EndpointSlice
// endpoint only.
func (w *warmer) endpoints(pods []*corev1.Pod, ns, name string) []provider.Endpoint {
	if w == nil {
		return nil
	}
	var out []provider.Endpoint
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range pods {
		if !live(p) || w.confirmed[p.UID] {
			continue
		}
		addr := net.JoinHostPort(p.Status.PodIP, strconv.Itoa(w.port))
		if w.ready[p.UID] {
			out = append(out, provider.Endpoint{Address: addr, Instance: p.Name})
			continue
		}
		if !w.probing[p.UID] {
			w.probing[p.UID] = true
			go w.probe(p.UID, "http://"+addr+"/_/ready", ns, name)
		}
	}
	return out
}

func (w *warmer) probe(uid types.UID, url, ns, name string) {
	deadline := time.Now().Add(warmFor)
	t := time.NewTicker(warmInterval)
	defer t.Stop()
	for time.Now().Before(deadline) {
		w.mu.Lock()
		wanted := w.probing[uid]
		w.mu.Unlock()
		if !wanted {
			return
		}
		if resp, err := w.client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				w.mu.Lock()
				w.ready[uid] = true
				w.mu.Unlock()
				w.changed(ns, name)
				return
			}
		}
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

// observe records which pods the kubelet has confirmed ready and drops
// the state of pods that are gone, terminating or confirmed (their probe
// goroutines then end).
func (w *warmer) observe(pods []*corev1.Pod) {
	if w == nil {
		return
	}
	keep := map[types.UID]bool{}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range pods {
		if podReady(p) {
			w.confirmed[p.UID] = true
		}
		if live(p) {
			keep[p.UID] = true
		}
	}
	for uid := range w.confirmed {
		if !keep[uid] {
			delete(w.confirmed, uid)
		}
	}
	for _, m := range []map[types.UID]bool{w.probing, w.ready} {
		for uid := range m {
			if !keep[uid] || w.confirmed[uid] {
				delete(m, uid)
			}
		}
	}
}

func (t *routeTable) functionPods(ns, name string) []*corev1.Pod {
	pods, _ := t.pods.Pods(ns).List(labels.SelectorFromSet(labels.Set{LabelFunction: name}))
	return pods
}
