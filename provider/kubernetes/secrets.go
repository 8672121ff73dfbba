package kubernetes

import (
	"context"
	"net/http"
	"sort"
	"strings"

	"github.com/ferryfaas/ferry/api"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Function secrets are Kubernetes Secrets labelled managed-by=ferry whose
// single key is the secret's name, so the projected volume shows the file
// /var/openfaas/secrets/NAME.

func secretData(s api.Secret) map[string][]byte {
	v := s.RawValue
	if v == nil {
		v = []byte(s.Value)
	}
	return map[string][]byte{s.Name: v}
}

// ListSecrets returns names only.
func (p *Provider) ListSecrets(ctx context.Context, namespace string) ([]api.Secret, error) {
	if err := p.checkNamespace(ctx, namespace); err != nil {
		return nil, err
	}
	l, err := p.client.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy})
	if err != nil {
		return nil, kerr(err, "list secrets")
	}
	out := []api.Secret{}
	for _, s := range l.Items {
		out = append(out, api.Secret{Name: s.Name, Namespace: s.Namespace})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CreateSecret stores a new secret.
func (p *Provider) CreateSecret(ctx context.Context, s api.Secret) error {
	if err := p.checkNamespace(ctx, s.Namespace); err != nil {
		return err
	}
	_, err := p.client.CoreV1().Secrets(s.Namespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: map[string]string{LabelManagedBy: ManagedBy}},
		Type:       corev1.SecretTypeOpaque,
		Data:       secretData(s),
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return api.Conflict("secret", s.Name)
	}
	return kerr(err, "create secret")
}

// UpdateSecret replaces a secret's value; pods see it through the kubelet's
// projected-volume refresh.
func (p *Provider) UpdateSecret(ctx context.Context, s api.Secret) error {
	if err := p.checkNamespace(ctx, s.Namespace); err != nil {
		return err
	}
	cur, err := p.client.CoreV1().Secrets(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && cur.Labels[LabelManagedBy] != ManagedBy) {
		return api.NotFound("secret", s.Name)
	}
	if err != nil {
		return kerr(err, "get secret")
	}
	cur.Data = secretData(s)
	_, err = p.client.CoreV1().Secrets(s.Namespace).Update(ctx, cur, metav1.UpdateOptions{})
	return kerr(err, "update secret")
}

// DeleteSecret removes a secret unless a function uses it (409).
func (p *Provider) DeleteSecret(ctx context.Context, namespace, name string) error {
	fns, err := p.List(ctx, namespace)
	if err != nil {
		return err
	}
	var users []string
	for _, f := range fns {
		for _, s := range f.Secrets {
			if s == name {
				users = append(users, f.Name)
			}
		}
	}
	if len(users) > 0 {
		return api.Errorf(http.StatusConflict, "secret %q is used by %s: remove it from them first", name, strings.Join(users, ", "))
	}
	cur, err := p.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && cur.Labels[LabelManagedBy] != ManagedBy) {
		return api.NotFound("secret", name)
	}
	return kerr(p.client.CoreV1().Secrets(namespace).Delete(ctx, name, metav1.DeleteOptions{}), "delete secret")
}

// checkSecrets answers 400 naming the first missing secret, before
// anything is created.
func (p *Provider) checkSecrets(ctx context.Context, namespace string, names []string) error {
	for _, n := range names {
		s, err := p.client.CoreV1().Secrets(namespace).Get(ctx, n, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && s.Labels[LabelManagedBy] != ManagedBy) {
			return api.BadRequest("field \"secrets\": secret %q does not exist in namespace %q: create it first with `ferry secret create %s`", n, namespace, n)
		}
		if err != nil {
			return kerr(err, "get secret")
		}
	}
	return nil
}
