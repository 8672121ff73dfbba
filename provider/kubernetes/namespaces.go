package kubernetes

import (
	"context"
	"net/http"
	"sort"

	"github.com/ferryfaas/ferry/api"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// A function namespace carries the label openfaas=1 (as in faas-netes), so
// Ferry never touches namespaces it was not given.

func marked(ns *corev1.Namespace) bool { return ns.Labels[LabelNamespace] == "1" }

// checkNamespace answers 404 for a missing namespace and 403 for one that
// is not marked for Ferry.
func (p *Provider) checkNamespace(ctx context.Context, name string) error {
	if p.nsLister != nil {
		if ns, err := p.nsLister.Get(name); err == nil && marked(ns) && ns.DeletionTimestamp == nil {
			return nil
		}
	}
	// Not (yet) in the cache of marked namespaces: ask the API server, which
	// tells a missing namespace (404) from an unmarked one (403).
	ns, err := p.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return api.NotFound("namespace", name)
	}
	if err != nil {
		return kerr(err, "get namespace")
	}
	if !marked(ns) {
		return api.Errorf(http.StatusForbidden, "namespace %q is not a Ferry function namespace (label it %s=1 or create it with `ferry namespace create`)", name, LabelNamespace)
	}
	return nil
}

func (p *Provider) ensureDefaultNamespace(ctx context.Context) error {
	err := p.CreateNamespace(ctx, api.Namespace{Name: p.cfg.DefaultNamespace})
	if err == nil || api.IsConflict(err) {
		return nil
	}
	if api.StatusOf(err) == http.StatusForbidden {
		p.log.Warn("default namespace exists but is not marked for Ferry", "namespace", p.cfg.DefaultNamespace)
		return nil
	}
	return err
}

// ListNamespaces lists the marked namespaces from the informer cache.
func (p *Provider) ListNamespaces(ctx context.Context) ([]string, error) {
	l, err := p.nsLister.List(labels.SelectorFromSet(labels.Set{LabelNamespace: "1"}))
	if err != nil {
		return nil, kerr(err, "list namespaces")
	}
	out := []string{}
	for _, n := range l {
		if n.DeletionTimestamp == nil {
			out = append(out, n.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// GetNamespace returns a marked namespace.
func (p *Provider) GetNamespace(ctx context.Context, name string) (api.Namespace, error) {
	ns, err := p.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return api.Namespace{}, api.NotFound("namespace", name)
	}
	if err != nil {
		return api.Namespace{}, kerr(err, "get namespace")
	}
	if !marked(ns) {
		return api.Namespace{}, api.Errorf(http.StatusForbidden, "namespace %q is not a Ferry function namespace", name)
	}
	return api.Namespace{Name: ns.Name, Labels: ns.Labels, Annotations: ns.Annotations}, nil
}

// CreateNamespace creates a namespace marked for Ferry. An existing
// unmarked namespace is refused (403) rather than taken over.
func (p *Provider) CreateNamespace(ctx context.Context, n api.Namespace) error {
	labels := map[string]string{}
	for k, v := range n.Labels {
		labels[k] = v
	}
	labels[LabelNamespace] = "1"
	labels[LabelManagedBy] = ManagedBy
	created, err := p.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: labels, Annotations: n.Annotations}}, metav1.CreateOptions{})
	if err == nil {
		p.nsCacheWrite(created, false) // listed at once, not after the watch event
	}
	if apierrors.IsAlreadyExists(err) {
		ns, gerr := p.client.CoreV1().Namespaces().Get(ctx, n.Name, metav1.GetOptions{})
		if gerr == nil && !marked(ns) {
			return api.Errorf(http.StatusForbidden, "namespace %q exists and is not marked for Ferry; label it %s=1 to use it", n.Name, LabelNamespace)
		}
		return api.Conflict("namespace", n.Name)
	}
	return kerr(err, "create namespace")
}

// UpdateNamespace replaces labels and annotations, keeping the mark.
func (p *Provider) UpdateNamespace(ctx context.Context, n api.Namespace) error {
	if err := p.checkNamespace(ctx, n.Name); err != nil {
		return err
	}
	ns, err := p.client.CoreV1().Namespaces().Get(ctx, n.Name, metav1.GetOptions{})
	if err != nil {
		return kerr(err, "get namespace")
	}
	ns.Labels = map[string]string{}
	for k, v := range n.Labels {
		ns.Labels[k] = v
	}
	ns.Labels[LabelNamespace] = "1"
	ns.Labels[LabelManagedBy] = ManagedBy
	ns.Annotations = n.Annotations
	_, err = p.client.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
	return kerr(err, "update namespace")
}

// DeleteNamespace deletes a marked namespace and everything in it. The
// default namespace cannot be deleted.
func (p *Provider) DeleteNamespace(ctx context.Context, name string) error {
	if name == p.cfg.DefaultNamespace {
		return api.Errorf(http.StatusForbidden, "the default namespace %q cannot be removed", name)
	}
	if err := p.checkNamespace(ctx, name); err != nil {
		return err
	}
	if err := p.client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return kerr(err, "delete namespace")
	}
	p.nsCacheWrite(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, true)
	return nil
}

// nsCacheWrite applies our own change to the namespace cache right away,
// so that a list straight after a create or delete shows it; the watch
// event that follows carries the same state.
func (p *Provider) nsCacheWrite(ns *corev1.Namespace, deleted bool) {
	if p.nsFactory == nil {
		return
	}
	store := p.nsFactory.Core().V1().Namespaces().Informer().GetStore()
	if deleted {
		store.Delete(ns)
	} else {
		store.Add(ns)
	}
}
