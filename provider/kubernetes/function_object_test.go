package kubernetes

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/gateway"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/cache"
)

// fnObject is a Function object as `faas-cli generate` writes it.
func fnObject(name, specName, memory string) *unstructured.Unstructured {
	spec := map[string]any{"name": specName, "image": "img:1",
		"environment": map[string]any{"GREETING": "hi"}, "labels": map[string]any{"team": "a"}}
	if memory != "" {
		spec["limits"] = map[string]any{"memory": memory}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "openfaas.com/v1", "kind": "Function",
		"metadata": map[string]any{"name": name, "namespace": api.DefaultNamespace, "uid": "u-" + name, "generation": int64(1)},
		"spec":     spec,
	}}
}

// dynLister reads objects straight from the dynamic client (the informer's
// cache in production).
type dynLister struct {
	p  *Provider
	ns string
}

func (l dynLister) Get(name string) (runtime.Object, error) {
	return l.p.dyn.Resource(FunctionGVR).Namespace(l.ns).Get(context.Background(), name, metav1.GetOptions{})
}
func (l dynLister) List(labels.Selector) ([]runtime.Object, error) { return nil, nil }

func readyOf(t *testing.T, p *Provider, name string) metav1.Condition {
	t.Helper()
	u, err := p.dyn.Resource(FunctionGVR).Namespace(api.DefaultNamespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fo, err := decodeFunction(u)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range fo.Status.Conditions {
		if c.Type == "Ready" {
			return c
		}
	}
	t.Fatalf("%s: no Ready condition in %+v", name, fo.Status)
	return metav1.Condition{}
}

// A Function object becomes a Deployment owned by it, which the REST API
// may not change or delete; bad objects get a condition naming the field;
// deleting the object removes the function.
func TestSyncFunctionObject(t *testing.T) {
	p, cs := newFake(t)
	// The check cli/kube wires in: an object passes the REST API's checks.
	p.cfg.Check = func(d *api.FunctionDeployment) error { return gateway.CheckDeployment(d, 0) }
	badTopic := fnObject("badtopic", "badtopic", "")
	badTopic.Object["spec"].(map[string]any)["annotations"] = map[string]any{"topic": "ferry.async.>"}
	ctx := context.Background()
	p.dyn = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{FunctionGVR: "FunctionList"},
		fnObject("good", "good", ""), fnObject("badmem", "badmem", "lots"), fnObject("badname", "other", ""), badTopic)
	byNS := func(ns string) cache.GenericNamespaceLister { return dynLister{p, ns} }
	key := func(n string) string { return api.DefaultNamespace + "/" + n }

	if err := p.syncFunction(ctx, byNS, key("good")); err != nil {
		t.Fatal(err)
	}
	dep, err := cs.AppsV1().Deployments(api.DefaultNamespace).Get(ctx, "good", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if o := functionOwner(dep); o == nil || o.UID != "u-good" || dep.Annotations[annGeneration] != "1" {
		t.Fatalf("deployment not marked as the object's: owners %+v annotations %v", dep.OwnerReferences, dep.Annotations)
	}
	if c := readyOf(t, p, "good"); c.Status != metav1.ConditionFalse || c.ObservedGeneration != 1 {
		t.Fatalf("fresh function (no replica available yet): %+v", c)
	}
	if st, _ := p.Get(ctx, api.DefaultNamespace, "good"); st.Annotations[annGeneration] != "" {
		t.Errorf("the bookkeeping annotation shows in the status: %v", st.Annotations)
	}
	for _, call := range []func() error{
		func() error { return p.Delete(ctx, api.DefaultNamespace, "good") },
		func() error {
			return p.Update(ctx, api.FunctionDeployment{Service: "good", Namespace: api.DefaultNamespace, Image: "img:2"})
		},
	} {
		if err := call(); api.StatusOf(err) != http.StatusConflict || !strings.Contains(err.Error(), "Function object") {
			t.Fatalf("REST change of an object's function: %v, want 409", err)
		}
	}

	for name, says := range map[string]string{"badmem": `"limits.memory"`, "badname": `"spec.name"`, "badtopic": "topic"} {
		if err := p.syncFunction(ctx, byNS, key(name)); err != nil {
			t.Fatal(err)
		}
		if c := readyOf(t, p, name); c.Status != metav1.ConditionFalse || c.Reason != "InvalidSpec" || !strings.Contains(c.Message, says) {
			t.Fatalf("%s: condition %+v, want InvalidSpec naming %s", name, c, says)
		}
		if _, err := cs.AppsV1().Deployments(api.DefaultNamespace).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("%s: a bad object made a Deployment (%v)", name, err)
		}
	}

	if err := p.dyn.Resource(FunctionGVR).Namespace(api.DefaultNamespace).Delete(ctx, "good", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.syncFunction(ctx, byNS, key("good")); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments(api.DefaultNamespace).Get(ctx, "good", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("deployment outlived its Function object (%v)", err)
	}
}
