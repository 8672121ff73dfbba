package gateway

import (
	"fmt"
	"net/http"
	"strings"
)

// hostGuard defends a gateway that listens on loopback against DNS
// rebinding: a web page whose name is re-pointed at 127.0.0.1 reaches the
// gateway as same-origin and could call functions and read their answers.
// Such a request carries the attacker's name in Host, so only Hosts that
// cannot be rebound (IP literals, localhost, *.localhost, which browsers
// resolve to loopback themselves) and the names the operator lists are
// answered.
type hostGuard struct {
	exact    map[string]bool // lower case
	suffixes []string        // ".example.com" for "*.example.com"
}

// newHostGuard is nil (every Host answered) unless restrict is set or
// names are listed.
func newHostGuard(restrict bool, names []string) (*hostGuard, error) {
	if !restrict && len(names) == 0 {
		return nil, nil
	}
	h := &hostGuard{exact: map[string]bool{}}
	for _, n := range names {
		n = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), ".")
		if rest := strings.TrimPrefix(n, "*."); rest == "" || strings.ContainsAny(rest, "/:@[]* ") {
			return nil, fmt.Errorf("gateway: --allowed-host %q: give a host name or *.domain, without scheme, port or path", n)
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			h.suffixes = append(h.suffixes, "."+rest)
		} else {
			h.exact[n] = true
		}
	}
	return h, nil
}

// ok reports whether a request's Host (with or without port) is served.
// An empty Host (HTTP/1.0) is: browsers always send one.
func (h *hostGuard) ok(host string) bool {
	if h == nil || host == "" {
		return true
	}
	name := host
	if name[0] == '[' { // IPv6 literal, maybe with a port
		return true
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	if numeric(name) {
		return true // browsers parse an all-numeric host as IPv4, never asking DNS
	}
	name = strings.TrimSuffix(name, ".")
	if hasFoldSuffix(name, "localhost") && (len(name) == len("localhost") || name[len(name)-len("localhost")-1] == '.') {
		return true
	}
	name = strings.ToLower(name)
	if h.exact[name] {
		return true
	}
	for _, s := range h.suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// numeric reports whether s is digits and dots only.
func numeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

func hasFoldSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

const errMisdirected = "421 Misdirected Request: this gateway listens on loopback and answers only IP addresses, localhost and *.localhost as Host (a name re-pointed at loopback is how web pages attack it); serve another name with ferry serve --allowed-host NAME"

// misdirected answers a request whose Host is not served.
func misdirected(w http.ResponseWriter) {
	writeText(w, http.StatusMisdirectedRequest, errMisdirected)
}
