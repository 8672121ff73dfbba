package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ferryfaas/ferry/api"
)

// List returns the functions of a namespace ("" = the gateway's default).
func (c *Client) List(ctx context.Context, namespace string) ([]api.FunctionStatus, error) {
	res, err := c.do(ctx, http.MethodGet, "/system/functions", nsQuery(namespace), nil, nil)
	if err != nil {
		return nil, err
	}
	var out []api.FunctionStatus
	return out, decode(res, &out)
}

// Get returns one function; a missing one gives an error with status 404.
func (c *Client) Get(ctx context.Context, name, namespace string) (api.FunctionStatus, error) {
	var out api.FunctionStatus
	res, err := c.do(ctx, http.MethodGet, "/system/function/"+url.PathEscape(name), nsQuery(namespace), nil, nil)
	if err != nil {
		return out, err
	}
	return out, decode(res, &out)
}

// Deploy creates or updates a function the way faas-cli does: PUT (update)
// first, and POST (create) when the gateway answers 404. created reports
// which one happened.
func (c *Client) Deploy(ctx context.Context, d api.FunctionDeployment) (created bool, err error) {
	res, err := c.do(ctx, http.MethodPut, "/system/functions", nil, d, nil)
	if err == nil {
		discard(res)
		return false, nil
	}
	if !IsNotFound(err) {
		return false, err
	}
	res, err = c.do(ctx, http.MethodPost, "/system/functions", nil, d, nil)
	if err != nil {
		return false, err
	}
	discard(res)
	return true, nil
}

// Delete removes a function.
func (c *Client) Delete(ctx context.Context, name, namespace string) error {
	res, err := c.do(ctx, http.MethodDelete, "/system/functions", nil,
		api.DeleteFunctionRequest{FunctionName: name, Namespace: namespace}, nil)
	if err != nil {
		return err
	}
	discard(res)
	return nil
}

// Scale sets a function's desired replica count.
func (c *Client) Scale(ctx context.Context, name, namespace string, replicas uint64) error {
	res, err := c.do(ctx, http.MethodPost, "/system/scale-function/"+url.PathEscape(name), nsQuery(namespace),
		api.ScaleServiceRequest{ServiceName: name, Replicas: replicas, Namespace: namespace}, nil)
	if err != nil {
		return err
	}
	discard(res)
	return nil
}

// Info returns the gateway's /system/info.
func (c *Client) Info(ctx context.Context) (api.Info, error) {
	var out api.Info
	res, err := c.do(ctx, http.MethodGet, "/system/info", nil, nil, nil)
	if err != nil {
		return out, err
	}
	return out, decode(res, &out)
}
