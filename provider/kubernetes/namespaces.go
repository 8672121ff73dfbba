package kubernetes

import (
	"context"
	"net/http"
	"sort"

	"github.com/ferryfaas/ferry/api"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A function namespace carries the label openfaas=1 (as in faas-netes), so
// Ferry never touches namespaces it was not given.

func marked(ns *corev1.Namespace) bool { return ns.Labels[LabelNamespace] == "1" }

// checkNamespace answers 404 for a missing namespace and 403 for one that
// is not marked for Ferry.
func (p *Provider) checkNamespace(ctx context.Context, name string) error {
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

// ListNamespaces lists the marked namespaces.
func (p *Provider) ListNamespaces(ctx context.Context) ([]string, error) {
	l, err := p.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: LabelNamespace + "=1"})
	if err != nil {
		return nil, kerr(err, "list namespaces")
	}
	out := []string{}
	for _, n := range l.Items {
		out = append(out, n.Name)
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
	_, err := p.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: labels, Annotations: n.Annotations}}, metav1.CreateOptions{})
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
	return kerr(p.client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}), "delete namespace")
}
