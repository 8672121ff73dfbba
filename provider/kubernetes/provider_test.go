package kubernetes

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
)

// Narrow unit tests on client-go's fake clientset; the proof on a real
// cluster is test/kube.

func newFake(t *testing.T, setup ...func(*fake.Clientset)) (*Provider, *fake.Clientset) {
	t.Helper()
	cs := fake.NewSimpleClientset()
	for _, f := range setup {
		f(cs)
	}
	p, err := NewForClient(context.Background(), cs, Config{ImagePullPolicy: "Never"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p, cs
}

// waitRoute waits (by event) until the route satisfies ok.
func waitRoute(t *testing.T, p *Provider, ns, name string, ok func(r routeView) bool) routeView {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r, found := p.Route(ns, name)
		v := routeView{found: found, n: len(r.Endpoints), failure: r.Failure, desired: r.Desired}
		for _, e := range r.Endpoints {
			v.addrs = append(v.addrs, e.Address)
		}
		if ok(v) {
			return v
		}
		ch := r.Changed
		if !found {
			ch = nil
		}
		select {
		case <-ch:
		case <-time.After(20 * time.Millisecond): // not found yet: no channel to wait on
		case <-deadline:
			t.Fatalf("route %s/%s never matched; last %+v", ns, name, v)
		}
	}
}

type routeView struct {
	found   bool
	n       int
	addrs   []string
	failure string
	desired uint64
}

func slice(ns, fn string, ready ...bool) *discoveryv1.EndpointSlice {
	port, pname := int32(8080), "http"
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: fn + "-abc", Namespace: ns,
			Labels: map[string]string{discoveryv1.LabelServiceName: fn, LabelFunction: fn}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &pname, Port: &port}},
	}
	for i, r := range ready {
		r := r
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{"198.18.244." + string(rune('2'+i))},
			Conditions: discoveryv1.EndpointConditions{Ready: &r}, TargetRef: &corev1.ObjectReference{Name: fn + "-pod" + string(rune('a'+i))}})
	}
	return s
}

func TestDeployRouteAndStatus(t *testing.T) {
	p, cs := newFake(t)
	ctx := context.Background()
	d := api.FunctionDeployment{Service: "f", Namespace: api.DefaultNamespace, Image: "img:1",
		EnvVars: map[string]string{"write_timeout": "90s"}, Labels: map[string]string{"team": "a"}}
	if err := p.Deploy(ctx, d); err != nil {
		t.Fatal(err)
	}
	dep, err := cs.AppsV1().Deployments(d.Namespace).Get(ctx, "f", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pp := dep.Spec.Template.Spec.Containers[0].ImagePullPolicy; pp != corev1.PullNever {
		t.Errorf("pull policy %q, want Never from Config", pp)
	}
	v := waitRoute(t, p, d.Namespace, "f", func(r routeView) bool { return r.found })
	if v.n != 0 || v.desired != 1 {
		t.Fatalf("new function route: %+v", v)
	}
	r, _ := p.Route(d.Namespace, "f")
	if r.Timeout < 90*time.Second || r.Timeout > 92*time.Second {
		t.Errorf("timeout %s, want 90s from write_timeout", r.Timeout)
	}
	if _, err := cs.DiscoveryV1().EndpointSlices(d.Namespace).Create(ctx, slice(d.Namespace, "f", true, false), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	v = waitRoute(t, p, d.Namespace, "f", func(r routeView) bool { return r.n == 1 })
	if v.addrs[0] != "198.18.244.2:8080" {
		t.Fatalf("endpoints %v: only the ready one, with the slice's port", v.addrs)
	}
	if err := p.Deploy(ctx, d); api.StatusOf(err) != http.StatusConflict {
		t.Fatalf("second deploy: %v, want 409", err)
	}
	st, err := p.Get(ctx, d.Namespace, "f")
	if err != nil {
		t.Fatal(err)
	}
	if st.Image != "img:1" || st.Labels["team"] != "a" || st.Labels[LabelFunction] != "" || st.Replicas != 1 || st.EnvVars["write_timeout"] != "90s" {
		t.Fatalf("status %+v", st)
	}
}

func TestFailureFromPods(t *testing.T) {
	p, cs := newFake(t)
	ctx := context.Background()
	ns := api.DefaultNamespace
	if err := p.Deploy(ctx, api.FunctionDeployment{Service: "bad", Namespace: ns, Image: "nope:1"}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bad-1", Namespace: ns, Labels: map[string]string{LabelFunction: "bad"}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "bad",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull", Message: "image not present"}}}}}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	v := waitRoute(t, p, ns, "bad", func(r routeView) bool { return r.failure != "" })
	if !strings.Contains(v.failure, "ErrImageNeverPull") {
		t.Fatalf("failure %q", v.failure)
	}
	st, _ := p.Get(ctx, ns, "bad")
	if len(st.Conditions) != 1 || !strings.Contains(st.Conditions[0].Message, "ErrImageNeverPull") {
		t.Fatalf("status conditions %+v", st.Conditions)
	}
}

func TestNamespacesAndSecrets(t *testing.T) {
	p, cs := newFake(t)
	ctx := context.Background()
	cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain"}}, metav1.CreateOptions{})
	if err := p.Deploy(ctx, api.FunctionDeployment{Service: "x", Namespace: "plain", Image: "i"}); api.StatusOf(err) != http.StatusForbidden {
		t.Fatalf("deploy into an unmarked namespace: %v, want 403", err)
	}
	if err := p.CreateNamespace(ctx, api.Namespace{Name: "plain"}); api.StatusOf(err) != http.StatusForbidden {
		t.Fatalf("taking over an unmarked namespace: %v, want 403", err)
	}
	if err := p.CreateNamespace(ctx, api.Namespace{Name: "team-b"}); err != nil {
		t.Fatal(err)
	}
	if l, _ := p.ListNamespaces(ctx); len(l) != 2 || l[1] != "team-b" {
		t.Fatalf("namespaces right after create: %v", l)
	}
	if err := p.DeleteNamespace(ctx, "team-b"); err != nil {
		t.Fatal(err)
	}
	if l, _ := p.ListNamespaces(ctx); len(l) != 1 {
		t.Fatalf("namespaces right after delete: %v", l)
	}
	err := p.Deploy(ctx, api.FunctionDeployment{Service: "x", Namespace: api.DefaultNamespace, Image: "i", Secrets: []string{"db"}})
	if api.StatusOf(err) != http.StatusBadRequest {
		t.Fatalf("missing secret: %v, want 400", err)
	}
	if l, _ := cs.AppsV1().Deployments(api.DefaultNamespace).List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Fatal("a deployment was created for a rejected request")
	}
	if err := p.CreateSecret(ctx, api.Secret{Name: "db", Namespace: api.DefaultNamespace, Value: "pw"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Deploy(ctx, api.FunctionDeployment{Service: "x", Namespace: api.DefaultNamespace, Image: "i", Secrets: []string{"db"}}); err != nil {
		t.Fatal(err)
	}
	waitRoute(t, p, api.DefaultNamespace, "x", func(r routeView) bool { return r.found })
	if err := p.DeleteSecret(ctx, api.DefaultNamespace, "db"); api.StatusOf(err) != http.StatusConflict {
		t.Fatalf("deleting a used secret: %v, want 409", err)
	}
}

func TestCountersConfigMap(t *testing.T) {
	p, cs := newFake(t)
	ctx := context.Background()
	if m, err := p.LoadCounters(ctx); err != nil || len(m) != 0 {
		t.Fatalf("load before any save: %v %v", m, err)
	}
	// A second gateway (rolling update) starts from the same totals.
	p2, err := NewForClient(ctx, cs, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close(ctx)
	p2.LoadCounters(ctx)
	if err := p.SaveCounters(ctx, map[string]float64{"a.openfaas-fn": 3}); err != nil {
		t.Fatal(err)
	}
	if err := p.SaveCounters(ctx, map[string]float64{"a.openfaas-fn": 4, "b.openfaas-fn": 5}); err != nil {
		t.Fatal(err)
	}
	if err := p2.SaveCounters(ctx, map[string]float64{"a.openfaas-fn": 10}); err != nil {
		t.Fatal(err)
	}
	m, err := p.LoadCounters(ctx)
	if err != nil || m["a.openfaas-fn"] != 14 || m["b.openfaas-fn"] != 5 {
		t.Fatalf("load: %v %v (want a=4+10, b=5: two gateways add up)", m, err)
	}
	p.forgetCounter(ctx, "openfaas-fn", "a")
	if m, _ := p.LoadCounters(ctx); len(m) != 1 {
		t.Fatalf("after forget: %v", m)
	}
}

func TestKerr(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	for _, c := range []struct {
		err  error
		code int
	}{
		{apierrors.NewNotFound(gr, "x"), 404},
		{apierrors.NewAlreadyExists(gr, "x"), 409},
		{apierrors.NewConflict(gr, "x", errors.New("changed")), 409},
		{apierrors.NewBadRequest("bad"), 400},
		{apierrors.NewForbidden(gr, "x", errors.New("rbac")), 403},
		{errors.New("connection refused"), 502},
	} {
		if got := api.StatusOf(kerr(c.err, "op")); got != c.code {
			t.Errorf("%v -> %d, want %d", c.err, got, c.code)
		}
	}
	if kerr(nil, "op") != nil {
		t.Error("nil error")
	}
}
