package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferryfaas/ferry/internal/wire"
)

// The admin's browser is the attack surface of the management API: it
// holds the admin's basic auth (cached after the portal's or the API's
// challenge) and sends it with any page's request to the gateway. Two
// guards keep other pages from using it:
//
//   - originGuard refuses state-changing /system, /metrics and /ui
//     requests that a browser marks as coming from another origin (CSRF:
//     a cross-site form POST carries the cached credentials). Clients that
//     are not browsers (faas-cli, ferry, curl, Alertmanager) send neither
//     Origin nor Sec-Fetch-* and pass unchanged.
//   - function responses get a sandbox Content-Security-Policy, so that a
//     function's HTML runs in an opaque origin instead of the gateway's:
//     it can read neither the API (with the cached credentials) nor the
//     portal's sessionStorage.

// originGuard checks where a browser says a request comes from.
type originGuard struct {
	cop     *http.CrossOriginProtection
	trusted map[string]bool // "scheme://host[:port]"
}

func newOriginGuard(trusted []string) (*originGuard, error) {
	o := &originGuard{cop: http.NewCrossOriginProtection(), trusted: map[string]bool{}}
	for _, t := range trusted {
		if err := o.cop.AddTrustedOrigin(t); err != nil {
			return nil, fmt.Errorf("gateway: TrustedOrigins: %w", err)
		}
		o.trusted[t] = true
	}
	return o, nil
}

var errCrossOrigin = errors.New("cross-origin request refused: the management API and the portal take state-changing requests only from the gateway's own pages or from clients that are not browsers (trust another origin with ferry serve --trusted-origin)")

// check refuses a non-safe request from another origin. It trusts Fetch
// Metadata (Sec-Fetch-Site), then Origin ("null", from sandboxed pages
// and some redirects, is another origin), then, for browsers that send
// neither on a POST, a Referer naming another host.
func (o *originGuard) check(r *http.Request) error {
	if err := o.cop.Check(r); err != nil {
		return errCrossOrigin
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if r.Header.Get("Sec-Fetch-Site") != "" || r.Header.Get("Origin") != "" {
		return nil // judged above
	}
	ref := r.Header.Get("Referer")
	if ref == "" {
		return nil
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host != r.Host && !o.trusted[u.Scheme+"://"+u.Host] {
		return errCrossOrigin
	}
	return nil
}

// formType reports a Content-Type that an HTML form (or a fetch without a
// CORS preflight) can send from any page. The API takes JSON (and the
// artifact upload gzip): refusing these closes CSRF even for a browser
// that sends no Origin. Any other type from another origin needs a
// preflight, which the gateway never grants.
func formType(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "text/plain", "application/x-www-form-urlencoded", "multipart/form-data":
		return true
	}
	return false
}

// guardBrowser answers (and returns false) a request to an authenticated
// path that another page may have made.
func (g *Gateway) guardBrowser(w http.ResponseWriter, r *http.Request) bool {
	if err := g.origins.check(r); err != nil {
		writeText(w, http.StatusForbidden, err.Error())
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && formType(ct) {
		writeText(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q is refused on %s (form types can be sent by any web page): send application/json", ct, r.URL.Path))
		return false
	}
	return true
}

// Function responses are served on the gateway's origin; these headers
// take that origin away from them (see FunctionPages). CSP sandbox without
// allow-same-origin gives the page an opaque origin: scripts, forms,
// popups and downloads work, but the page reads no storage of the
// gateway's origin and its requests to /system are cross-origin (no
// credentials, unreadable answers). Several CSP headers are all enforced,
// so a function's own policy cannot lift this one.
const functionCSP = "sandbox allow-scripts allow-forms allow-popups allow-downloads"

var (
	functionCSPValue = []string{functionCSP}
	nosniffValue     = []string{"nosniff"}
	// functionHeaderLines is the same, as the event loop appends them.
	functionHeaderLines = string(wire.AppendField(wire.AppendField(nil,
		"Content-Security-Policy", functionCSP), "X-Content-Type-Options", "nosniff"))
)

// sandboxResponse adds the function headers to a response head about to
// be written.
func (g *Gateway) sandboxResponse(h http.Header) {
	if g.cfg.TrustedFunctionPages {
		return
	}
	if own := h["Content-Security-Policy"]; len(own) > 0 {
		h["Content-Security-Policy"] = append(own[:len(own):len(own)], functionCSP)
	} else {
		h["Content-Security-Policy"] = functionCSPValue
	}
	h["X-Content-Type-Options"] = nosniffValue
}
