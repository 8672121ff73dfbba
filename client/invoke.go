package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// InvokeRequest describes one call of a function.
type InvokeRequest struct {
	Name      string
	Namespace string // "" = the gateway's default
	// Path is appended after /function/NAME (e.g. "/users/1").
	Path   string
	Method string // default POST
	Query  url.Values
	Header http.Header
	Body   io.Reader
	// Async queues the call (/async-function/...); the gateway answers 202.
	Async bool
	// CallbackURL receives the async result (X-Callback-Url).
	CallbackURL string
}

// InvokeResponse is what the function (or the gateway) answered. Function
// errors are not Go errors: check Status.
type InvokeResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// Invoke calls a function and reads the whole answer.
func (c *Client) Invoke(ctx context.Context, r InvokeRequest) (*InvokeResponse, error) {
	res, err := c.InvokeStream(ctx, r)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, c.transportErr(err)
	}
	return &InvokeResponse{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// InvokeStream calls a function and returns the response unread (for
// streaming answers such as text/event-stream). Any status is returned
// as is; the caller closes the body.
func (c *Client) InvokeStream(ctx context.Context, r InvokeRequest) (*http.Response, error) {
	if c.urlErr != nil {
		return nil, c.urlErr
	}
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	prefix := "/function/"
	if r.Async {
		prefix = "/async-function/"
	}
	name := r.Name
	if r.Namespace != "" {
		name += "." + r.Namespace
	}
	u := c.Gateway + prefix + url.PathEscape(name)
	if r.Path != "" {
		u += "/" + strings.TrimLeft(r.Path, "/")
	}
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r.Body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if r.CallbackURL != "" {
		req.Header.Set("X-Callback-Url", r.CallbackURL)
	}
	if c.UserAgent != "" && req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, c.transportErr(err)
	}
	return res, nil
}
