package kubernetes

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"time"

	"github.com/ferryfaas/ferry/api"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// crdRecheck is how often a gateway looks again for a Function CRD that
// was not installed.
const crdRecheck = 10 * time.Second

// errRecheck marks an object that another object may fix (a secret or a
// namespace label still missing): it is tried again after crdRecheck.
var errRecheck = errors.New("waiting for another object")

// Lead reconciles Function objects for one term of leadership (see
// function_object.go); without the CRD it waits for it to be installed.
func (p *Provider) Lead(ctx context.Context) {
	if p.dyn == nil {
		return
	}
	for !p.functionsServed() {
		p.log.Info("Function objects ignored: the functions.openfaas.com CRD is not installed", "recheck", crdRecheck)
		select {
		case <-ctx.Done():
			return
		case <-time.After(crdRecheck):
		}
	}
	f := dynamicinformer.NewDynamicSharedInformerFactory(p.dyn, 10*time.Minute)
	inf := f.ForResource(FunctionGVR)
	lister := inf.Lister()
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	defer q.ShutDown()
	add := func(o any) {
		if k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(o); err == nil {
			q.Add(k)
		}
	}
	inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, o any) { add(o) }, DeleteFunc: add})
	// The function's Deployment and pods changing (a rollout, a pod that
	// cannot start, a kubectl delete) change the object's status.
	ofFunction := func(o any) {
		if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = t.Obj
		}
		m, err := meta.Accessor(o)
		if err != nil || m.GetLabels()[LabelFunction] == "" {
			return
		}
		if _, err := lister.ByNamespace(m.GetNamespace()).Get(m.GetLabels()[LabelFunction]); err == nil {
			q.Add(m.GetNamespace() + "/" + m.GetLabels()[LabelFunction])
		}
	}
	h := cache.ResourceEventHandlerFuncs{AddFunc: ofFunction, UpdateFunc: func(_, o any) { ofFunction(o) }, DeleteFunc: ofFunction}
	for _, i := range []cache.SharedIndexInformer{p.factory.Apps().V1().Deployments().Informer(), p.factory.Core().V1().Pods().Informer()} {
		if reg, err := i.AddEventHandler(h); err == nil {
			defer i.RemoveEventHandler(reg)
		}
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		return
	}
	p.log.Info("reconciling Function objects")
	go func() { <-ctx.Done(); q.ShutDown() }()
	for {
		k, quit := q.Get()
		if quit {
			return
		}
		switch err := p.syncFunction(ctx, lister.ByNamespace, k); {
		case errors.Is(err, errRecheck):
			q.Forget(k)
			q.AddAfter(k, crdRecheck)
		case err != nil && ctx.Err() == nil:
			p.log.Warn("Function object", "key", k, "err", err)
			q.AddRateLimited(k)
		default:
			q.Forget(k)
		}
		q.Done(k)
	}
}

func (p *Provider) functionsServed() bool {
	rl, err := p.client.Discovery().ServerResourcesForGroupVersion(FunctionGVR.GroupVersion().String())
	if err != nil {
		return false
	}
	for _, r := range rl.APIResources {
		if r.Name == FunctionGVR.Resource {
			return true
		}
	}
	return false
}

// syncFunction brings one object's Deployment and Service, and its status,
// in line; an error means "try again later".
func (p *Provider) syncFunction(ctx context.Context, byNS func(string) cache.GenericNamespaceLister, key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	obj, err := byNS(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// Gone: remove what was made from it now (the garbage collector
		// would too, later, and leave the invocation count behind).
		dep, err := p.routes.deps.Deployments(ns).Get(name)
		switch {
		case err != nil: // the garbage collector was first: drop the count
			p.forgetCounter(ctx, ns, name)
		case functionOwner(dep) != nil:
			if err := p.remove(ctx, ns, name, true); err != nil && !api.IsNotFound(err) {
				return err
			}
			p.log.Info("function removed with its Function object", "function", name, "namespace", ns)
		}
		return nil
	}
	if err != nil {
		return err
	}
	u := obj.(*unstructured.Unstructured)
	fo, err := decodeFunction(u)
	if err != nil {
		return p.setStatus(ctx, u, condition(u.GetGeneration(), false, "InvalidSpec", "%v", err))
	}
	cond, err := p.applyFunction(ctx, fo)
	if serr := p.setStatus(ctx, u, cond); err == nil {
		err = serr
	}
	return err
}

// applyFunction deploys or updates the object's function and says how it
// went; the error is set only when trying again may help.
func (p *Provider) applyFunction(ctx context.Context, fo *functionObject) (metav1.Condition, error) {
	gen, ns, name := fo.Metadata.Generation, fo.Metadata.Namespace, fo.Metadata.Name
	d, err := fo.deployment()
	if err == nil && p.cfg.Check != nil {
		err = p.cfg.Check(&d)
	}
	if err != nil {
		return condition(gen, false, "InvalidSpec", "%v", err), nil
	}
	cur, err := p.routes.deps.Deployments(ns).Get(name)
	switch {
	case apierrors.IsNotFound(err):
		err = p.deploy(ctx, d, fo.origin())
	case err != nil:
		return condition(gen, false, "DeployFailed", "%v", err), err
	case functionOwner(cur) == nil || functionOwner(cur).UID != fo.Metadata.UID:
		return condition(gen, false, "Conflict", "a function named %s already exists in %s (deployed through the REST API or by another object): delete it, or rename this Function", name, ns), nil
	case cur.Annotations[annGeneration] != strconv.FormatInt(gen, 10):
		err = p.update(ctx, d, fo.origin())
	}
	if err != nil {
		if api.StatusOf(err) >= 500 {
			return condition(gen, false, "DeployFailed", "%v", err), err
		}
		return condition(gen, false, reasonOf(err), "%v", err), errRecheck
	}
	if cur, err = p.routes.deps.Deployments(ns).Get(name); err != nil {
		return condition(gen, false, "Deploying", "the Deployment is being created"), nil
	}
	return readiness(gen, p.status(cur), cur), nil
}

// readiness is Ready from the function's own status: its pods failing,
// a rollout under way, or the replicas available.
func readiness(gen int64, st api.FunctionStatus, dep *appsv1.Deployment) metav1.Condition {
	for _, c := range st.Conditions {
		if c.Type == "Ready" && c.Status == "False" {
			return condition(gen, false, c.Reason, "%s", c.Message)
		}
	}
	if st.Replicas == 0 {
		return condition(gen, true, "ScaledToZero", "no replicas: the next call starts one")
	}
	if st.AvailableReplicas == 0 {
		return condition(gen, false, "Starting", "0 of %d replicas available", st.Replicas)
	}
	return condition(gen, true, "Available", "%d of %d replicas available (Deployment and Service %s)", st.AvailableReplicas, st.Replicas, dep.Name)
}

// setStatus writes the Ready condition when it changed; the transition
// time moves only when the status does.
func (p *Provider) setStatus(ctx context.Context, u *unstructured.Unstructured, c metav1.Condition) error {
	var cur functionStatus
	if m, ok := u.Object["status"].(map[string]any); ok {
		runtime.DefaultUnstructuredConverter.FromUnstructured(m, &cur)
	}
	next := functionStatus{ObservedGeneration: u.GetGeneration(), Conditions: append([]metav1.Condition(nil), cur.Conditions...)}
	meta.SetStatusCondition(&next.Conditions, c)
	if reflect.DeepEqual(cur, next) {
		return nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&next)
	if err != nil {
		return err
	}
	u = u.DeepCopy()
	u.Object["status"] = m
	_, err = p.dyn.Resource(FunctionGVR).Namespace(u.GetNamespace()).UpdateStatus(ctx, u, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil // deleted meanwhile
	}
	return err
}
