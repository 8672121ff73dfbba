package kubernetes

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/ferryfaas/ferry/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A starting pod whose watchdog answers /_/ready joins the route before the
// kubelet reports it Ready; once the kubelet has said Ready, only the
// EndpointSlices count.
func TestDirectReadiness(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_/ready" && ready.Load() {
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, cs := newFake(t)
	p.routes.warm.port, _ = strconv.Atoi(port)
	ctx := context.Background()
	ns := api.DefaultNamespace
	if err := p.Deploy(ctx, api.FunctionDeployment{Service: "w", Namespace: ns, Image: "i"}); err != nil {
		t.Fatal(err)
	}
	// An empty slice exists (the Service's), so pods are not routed by their
	// Ready condition.
	if _, err := cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice(ns, "w"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "w-1", Namespace: ns, UID: "u1", Labels: map[string]string{LabelFunction: "w"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if r, _ := p.Route(ns, "w"); len(r.Endpoints) != 0 {
		t.Fatalf("routed before /_/ready answered: %v", r.Endpoints)
	}
	ready.Store(true)
	v := waitRoute(t, p, ns, "w", func(r routeView) bool { return r.n == 1 })
	if v.addrs[0] != "127.0.0.1:"+port {
		t.Fatalf("endpoints %v", v.addrs)
	}
	// The kubelet has spoken: Ready, but the slice (not yet updated here)
	// has no ready endpoint, so the route follows the slice.
	pod.Status.Conditions[0].Status = corev1.ConditionTrue
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRoute(t, p, ns, "w", func(r routeView) bool { return r.n == 0 })
}
