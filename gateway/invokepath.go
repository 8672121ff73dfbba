package gateway

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ferryfaas/ferry/api"
)

// target is a parsed /function/{name}[.{ns}][/{path...}] request.
type target struct {
	name, ns string
	// fn is "name.namespace", the function_name label.
	fn string
	// suffix is the escaped path passed upstream ("/" at least).
	suffix string
}

// parseInvokePath splits the escaped path, so that an encoded slash in the
// name ("..%2f") stays part of the name and fails validation instead of
// moving the split. No regexp and, for the usual "name.ns" form, no
// allocation: this runs on every invocation.
func parseInvokePath(u *url.URL, prefix, defNS, nsSuffix string) (target, error) {
	return parseEscapedPath(u.EscapedPath(), prefix, defNS, nsSuffix)
}

// parseEscapedPath is parseInvokePath on the path as the request line
// gave it.
func parseEscapedPath(p, prefix, defNS, nsSuffix string) (target, error) {
	var t target
	if !strings.HasPrefix(p, prefix) {
		return t, api.Errorf(http.StatusNotFound, "path %q is not under %s", short(p), prefix)
	}
	rest := p[len(prefix):]
	seg := rest
	t.suffix = "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		seg, t.suffix = rest[:i], rest[i:]
	}
	if strings.IndexByte(seg, '%') >= 0 {
		s, err := url.PathUnescape(seg)
		if err != nil {
			return t, api.BadRequest("function name %q is not a valid path element", short(seg))
		}
		seg = s
	}
	if seg == "" {
		return t, api.BadRequest("function name is required: call %sNAME or %sNAME.NAMESPACE", prefix, prefix)
	}
	dot := strings.LastIndexByte(seg, '.')
	if dot < 0 {
		t.name, t.ns = seg, defNS
		t.fn = seg + nsSuffix
	} else {
		t.name, t.ns, t.fn = seg[:dot], seg[dot+1:], seg
		if !validName(t.ns) {
			if t.ns == "" {
				return t, api.BadRequest("function %q ends with a dot: call %sNAME or %sNAME.NAMESPACE", short(seg), prefix, prefix)
			}
			return t, api.ValidateName("namespace", t.ns)
		}
	}
	if !validName(t.name) {
		return t, api.ValidateName("function", t.name)
	}
	if hasDotDot(t.suffix) {
		return t, api.BadRequest("path %q contains a '..' segment", short(t.suffix))
	}
	return t, nil
}

// validName is api.ValidateName's RFC 1123 rule without the regexp; on
// false, callers ask api.ValidateName for the message.
func validName(s string) bool {
	if len(s) == 0 || len(s) > api.MaxNameLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}

// hasDotDot reports a ".." path segment, plain or percent-encoded.
func hasDotDot(p string) bool {
	if !strings.Contains(p, "..") && !strings.Contains(p, "%2") {
		return false
	}
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	for _, s := range strings.Split(p, "/") {
		if s == ".." {
			return true
		}
	}
	return false
}
