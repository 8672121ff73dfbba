package kubernetes

import (
	"context"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// slowWatch delivers every Deployment watch event late, as a busy API
// server or a slow network does.
type slowWatch struct {
	inner watch.Interface
	out   chan watch.Event
}

func (w *slowWatch) Stop()                          { w.inner.Stop() }
func (w *slowWatch) ResultChan() <-chan watch.Event { return w.out }

func (w *slowWatch) run(delay time.Duration) {
	defer close(w.out)
	for e := range w.inner.ResultChan() {
		time.Sleep(delay)
		w.out <- e
	}
}

// TestReadYourWrites: with Deployment events 300 ms late, a Get right
// after Deploy finds the function, a Get right after Update shows the new
// image, and one right after Delete no longer finds it. Without the
// settle step each of these reads the stale cache (TestFerryUp once failed
// with "function not found" right after its deploy).
func TestReadYourWrites(t *testing.T) {
	p, _ := newFake(t, slowDeploymentWatch(300*time.Millisecond), apiServerGenerations)
	ctx := context.Background()
	d := api.FunctionDeployment{Service: "ryw", Namespace: api.DefaultNamespace, Image: "img:1"}
	if err := p.Deploy(ctx, d); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Get(ctx, d.Namespace, "ryw"); err != nil || st.Image != "img:1" {
		t.Fatalf("get right after deploy: %+v %v", st, err)
	}
	if _, ok := p.Route(d.Namespace, "ryw"); !ok {
		t.Fatal("no route right after deploy: a call would be answered 404")
	}
	d.Image = "img:2"
	d.EnvVars = map[string]string{"write_timeout": "42s"}
	if err := p.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Get(ctx, d.Namespace, "ryw"); err != nil || st.Image != "img:2" {
		t.Fatalf("get right after update: image %q %v, want img:2", st.Image, err)
	}
	if r, ok := p.Route(d.Namespace, "ryw"); !ok || r.Timeout < 42*time.Second || r.Timeout > 44*time.Second {
		t.Fatalf("route right after update: %+v %v", r, ok)
	}
	if err := p.Delete(ctx, d.Namespace, "ryw"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(ctx, d.Namespace, "ryw"); err == nil {
		t.Fatal("get right after delete still finds the function")
	}
}

// slowDeploymentWatch makes the fake deliver Deployment events late.
func slowDeploymentWatch(delay time.Duration) func(*fake.Clientset) {
	return func(cs *fake.Clientset) {
		cs.PrependWatchReactor("deployments", func(a k8stesting.Action) (bool, watch.Interface, error) {
			wa := a.(k8stesting.WatchActionImpl)
			inner, err := cs.Tracker().Watch(appsv1.SchemeGroupVersion.WithResource("deployments"), wa.GetNamespace(), wa.ListOptions)
			if err != nil {
				return true, nil, err
			}
			w := &slowWatch{inner: inner, out: make(chan watch.Event)}
			go w.run(delay)
			return true, w, nil
		})
	}
}

// apiServerGenerations does what the API server does and the fake does
// not: a Deployment's metadata.generation starts at 1 and grows with every
// spec write.
func apiServerGenerations(cs *fake.Clientset) {
	gvr := appsv1.SchemeGroupVersion.WithResource("deployments")
	cs.PrependReactor("create", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if d, ok := a.(k8stesting.CreateAction).GetObject().(*appsv1.Deployment); ok {
			d.Generation = 1
		}
		return false, nil, nil
	})
	cs.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		d, ok := a.(k8stesting.UpdateAction).GetObject().(*appsv1.Deployment)
		if !ok {
			return false, nil, nil
		}
		if cur, err := cs.Tracker().Get(gvr, d.Namespace, d.Name); err == nil {
			d.Generation = cur.(*appsv1.Deployment).Generation + 1
		}
		return false, nil, nil
	})
}
