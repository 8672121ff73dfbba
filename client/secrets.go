package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ferryfaas/ferry/api"
)

// ListSecrets returns the names (never values) of a namespace's secrets.
func (c *Client) ListSecrets(ctx context.Context, namespace string) ([]api.Secret, error) {
	res, err := c.do(ctx, http.MethodGet, "/system/secrets", nsQuery(namespace), nil, nil)
	if err != nil {
		return nil, err
	}
	var out []api.Secret
	return out, decode(res, &out)
}

// CreateSecret creates a secret; an existing one gives status 409.
func (c *Client) CreateSecret(ctx context.Context, s api.Secret) error {
	return c.secret(ctx, http.MethodPost, s)
}

// UpdateSecret replaces a secret's value; a missing one gives status 404.
func (c *Client) UpdateSecret(ctx context.Context, s api.Secret) error {
	return c.secret(ctx, http.MethodPut, s)
}

// DeleteSecret removes a secret.
func (c *Client) DeleteSecret(ctx context.Context, name, namespace string) error {
	return c.secret(ctx, http.MethodDelete, api.Secret{Name: name, Namespace: namespace})
}

func (c *Client) secret(ctx context.Context, method string, s api.Secret) error {
	res, err := c.do(ctx, method, "/system/secrets", nsQuery(s.Namespace), s, nil)
	if err != nil {
		return err
	}
	discard(res)
	return nil
}

// ListNamespaces returns the function namespaces.
func (c *Client) ListNamespaces(ctx context.Context) ([]string, error) {
	res, err := c.do(ctx, http.MethodGet, "/system/namespaces", nil, nil, nil)
	if err != nil {
		return nil, err
	}
	var out []string
	return out, decode(res, &out)
}

// GetNamespace returns one namespace with its labels and annotations.
func (c *Client) GetNamespace(ctx context.Context, name string) (api.Namespace, error) {
	var out api.Namespace
	res, err := c.do(ctx, http.MethodGet, "/system/namespace/"+url.PathEscape(name), nil, nil, nil)
	if err != nil {
		return out, err
	}
	return out, decode(res, &out)
}

// CreateNamespace creates a namespace.
func (c *Client) CreateNamespace(ctx context.Context, ns api.Namespace) error {
	return c.namespace(ctx, http.MethodPost, ns.Name, ns)
}

// UpdateNamespace replaces a namespace's labels and annotations.
func (c *Client) UpdateNamespace(ctx context.Context, ns api.Namespace) error {
	return c.namespace(ctx, http.MethodPut, ns.Name, ns)
}

// DeleteNamespace removes a namespace.
func (c *Client) DeleteNamespace(ctx context.Context, name string) error {
	return c.namespace(ctx, http.MethodDelete, name, nil)
}

func (c *Client) namespace(ctx context.Context, method, name string, body any) error {
	res, err := c.do(ctx, method, "/system/namespace/"+url.PathEscape(name), nil, body, nil)
	if err != nil {
		return err
	}
	discard(res)
	return nil
}
