package queue

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/ferryfaas/ferry/api"
)

// AllowList restricts callback targets. The async route needs no
// credentials, so without a list anyone who can reach the gateway can make
// it POST to any address it can reach (request forgery). Entries are host
// names ("hooks.example.com"), wildcards ("*.example.com"), IP addresses
// or CIDR ranges ("10.0.0.0/8"). CIDRs match IP-literal hosts only: names
// are not resolved at enqueue.
type AllowList struct {
	hosts    map[string]bool
	suffixes []string
	nets     []netip.Prefix
}

// ParseAllowList reads a comma-separated list; empty allows every target.
func ParseAllowList(entries []string) (*AllowList, error) {
	a := &AllowList{hosts: map[string]bool{}}
	for _, e := range entries {
		for _, p := range strings.Split(e, ",") {
			p = strings.ToLower(strings.TrimSpace(p))
			switch {
			case p == "":
			case strings.Contains(p, "/"):
				n, err := netip.ParsePrefix(p)
				if err != nil {
					return nil, fmt.Errorf("callback allow-list entry %q is not a valid CIDR (e.g. 10.0.0.0/8)", p)
				}
				a.nets = append(a.nets, n.Masked())
			case strings.HasPrefix(p, "*."):
				a.suffixes = append(a.suffixes, p[1:])
			default:
				if ip, err := netip.ParseAddr(strings.Trim(p, "[]")); err == nil {
					a.nets = append(a.nets, netip.PrefixFrom(ip, ip.BitLen()))
				} else {
					a.hosts[p] = true
				}
			}
		}
	}
	return a, nil
}

// Empty reports whether every target is allowed.
func (a *AllowList) Empty() bool {
	return a == nil || (len(a.hosts) == 0 && len(a.suffixes) == 0 && len(a.nets) == 0)
}

func (a *AllowList) allows(host string) bool {
	if a.Empty() {
		return true
	}
	host = strings.ToLower(host)
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		for _, n := range a.nets {
			if n.Contains(ip) {
				return true
			}
		}
		return false
	}
	if a.hosts[host] {
		return true
	}
	for _, s := range a.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// ValidateCallback checks an X-Callback-Url value: an absolute http(s) URL
// whose host is allowed. Errors are 400s.
func (a *AllowList) ValidateCallback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return api.BadRequest("X-Callback-Url %q is not an absolute URL", short(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return api.BadRequest("X-Callback-Url %q must use http or https", short(raw))
	}
	host := u.Hostname()
	if host == "" {
		return api.BadRequest("X-Callback-Url %q has no host", short(raw))
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return api.BadRequest("X-Callback-Url %q has an invalid port", short(raw))
		}
	}
	if !a.allows(host) {
		return api.BadRequest("X-Callback-Url host %q is not in the callback allow-list (--callback-allow)", host)
	}
	return nil
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
