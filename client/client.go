// Package client is a Go client for Ferry's gateway API, which is the
// OpenFaaS REST API (plus a few Ferry additions such as artifact upload).
// Errors are one line that says what to do next.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Client talks to one gateway. It is safe for concurrent use.
type Client struct {
	// Gateway is the normalised base URL, e.g. http://127.0.0.1:8080.
	Gateway  string
	User     string
	Password string
	// HTTP does the requests; replace it to change TLS settings or timeouts.
	HTTP *http.Client
	// UserAgent is sent with every request.
	UserAgent string

	urlErr error
}

// New returns a client for gatewayURL ("http://host:port"; a missing scheme
// means http). user and password are used for basic auth on /system routes;
// an empty password sends no credentials. An invalid URL is reported by the
// first call.
func New(gatewayURL, user, password string) *Client {
	gw, err := NormalizeGateway(gatewayURL)
	// Credentials in the URL are used as given ones, and taken out of
	// Gateway: commands print and log it.
	if u, perr := url.Parse(gw); err == nil && perr == nil && u.User != nil {
		if password == "" {
			user = u.User.Username()
			password, _ = u.User.Password()
		}
		u.User = nil
		gw = u.String()
	}
	if user == "" {
		user = "admin"
	}
	return &Client{
		Gateway:   gw,
		User:      user,
		Password:  password,
		HTTP:      &http.Client{Transport: DefaultTransport(false)},
		UserAgent: "ferry",
		urlErr:    err,
	}
}

// DefaultTransport is an http.Transport with sane dial timeouts; insecure
// skips TLS verification (--tls-no-verify).
func DefaultTransport(insecure bool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = 0 // invocations and log streams may take long
	if insecure {
		t.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // the user asked for it
	}
	return t
}

// NormalizeGateway checks a gateway URL and trims trailing slashes. A URL
// without a scheme gets http://.
func NormalizeGateway(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("no gateway URL: set --gateway or FERRY_URL, e.g. http://127.0.0.1:8080")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("gateway URL %q is not valid: use http://HOST:PORT or https://HOST", s)
	}
	if _, port, err := net.SplitHostPort(u.Host); err == nil && port == "" {
		return "", fmt.Errorf("gateway URL %q is not valid: the port is empty, use http://HOST:PORT", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Error is a failed API call: the HTTP status (0 when the gateway could not
// be reached) and a message meant for the user.
type Error struct {
	Status  int
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// StatusOf returns the HTTP status of a client error, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsNotFound reports whether the gateway answered 404.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// do sends a request to the gateway. body is JSON-encoded unless it is an
// io.Reader. The caller closes the response body on success; any non-2xx
// status becomes an *Error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any, hdr http.Header) (*http.Response, error) {
	if c.urlErr != nil {
		return nil, c.urlErr
	}
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r = b
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		r, ctype = bytes.NewReader(buf), "application/json"
	}
	u := c.Gateway + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, fmt.Errorf("bad request to %s: %v", u, err)
	}
	if sr, ok := body.(sizedReader); ok {
		req.ContentLength = sr.n
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if ctype != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	if c.Password != "" && strings.HasPrefix(path, "/system/") {
		req.SetBasicAuth(c.User, c.Password)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, c.transportErr(err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		defer res.Body.Close()
		return nil, c.statusErr(res)
	}
	return res, nil
}

func (c *Client) transportErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Message: fmt.Sprintf("request to %s: %v", c.Gateway, err), Err: err}
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return &Error{Message: fmt.Sprintf("cannot reach gateway at %s: is `ferry serve` running? set --gateway or FERRY_URL", c.Gateway), Err: err}
	}
	var cert *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	if errors.As(err, &cert) || errors.As(err, &unknownAuth) {
		return &Error{Message: fmt.Sprintf("the TLS certificate of %s is not trusted (%v): fix the certificate, or pass --tls-no-verify for a test gateway", c.Gateway, rootCause(err)), Err: err}
	}
	var dns *net.DNSError
	var op *net.OpError
	if errors.As(err, &dns) || errors.As(err, &op) {
		return &Error{Message: fmt.Sprintf("cannot reach gateway at %s (%v): check --gateway or FERRY_URL", c.Gateway, rootCause(err)), Err: err}
	}
	return &Error{Message: fmt.Sprintf("request to %s failed: %v", c.Gateway, rootCause(err)), Err: err}
}

func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *Client) statusErr(res *http.Response) error {
	if res.StatusCode == http.StatusUnauthorized {
		return &Error{Status: 401, Message: fmt.Sprintf("authentication failed for %s: run `ferry login` or set FERRY_PASSWORD", c.Gateway)}
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	msg := oneLine(string(b))
	if msg == "" {
		msg = http.StatusText(res.StatusCode)
	}
	return &Error{Status: res.StatusCode, Message: fmt.Sprintf("gateway answered %d: %s", res.StatusCode, msg)}
}

// oneLine keeps the first non-empty line of a server message, shortened.
func oneLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if len(l) > 300 {
				l = l[:297] + "..."
			}
			return l
		}
	}
	return ""
}

// decode reads a JSON response into v and closes it.
func decode(res *http.Response, v any) error {
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		return fmt.Errorf("gateway sent a response that is not the expected JSON (%v): is this a Ferry/OpenFaaS gateway?", err)
	}
	return nil
}

// discard drains and closes a response.
func discard(res *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
}

func nsQuery(namespace string) url.Values {
	if namespace == "" {
		return nil
	}
	return url.Values{"namespace": {namespace}}
}
