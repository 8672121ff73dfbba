package queue

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// AllowList restricts callback targets. The async route needs no
// credentials, so without a list anyone who can reach the gateway can make
// it POST to any address it can reach (request forgery). Entries are host
// names ("hooks.example.com"), wildcards ("*.example.com"), IP addresses
// or CIDR ranges ("10.0.0.0/8").
//
// A host allowed by name is trusted to resolve where its owner says. Any
// other host must reach an address inside a CIDR entry: a name is resolved
// at enqueue (400 when none of its addresses is inside), and the worker's
// dialer checks the address it actually connects to (DialContext), so a
// name that resolves elsewhere by the time the callback is sent (DNS
// rebinding) is still refused. Callbacks never follow redirects.
type AllowList struct {
	hosts    map[string]bool
	suffixes []string
	nets     []netip.Prefix
	// Resolve looks up a host name for the CIDR entries (default: the
	// system resolver); tests give their own.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
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

// resolveTimeout bounds the lookup of a callback host at enqueue.
const resolveTimeout = 2 * time.Second

// allows reports whether a callback to host may be accepted, and if not,
// what the host's addresses were.
func (a *AllowList) allows(ctx context.Context, host string) (bool, string) {
	if a.Empty() {
		return true, ""
	}
	host = strings.ToLower(host)
	if ip, err := netip.ParseAddr(host); err == nil {
		return a.inNets(ip), ""
	}
	if a.byName(host) {
		return true, ""
	}
	if len(a.nets) == 0 {
		return false, ""
	}
	resolve := a.Resolve
	if resolve == nil {
		resolve = func(ctx context.Context, h string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := resolve(ctx, host)
	if err != nil {
		return false, "it does not resolve"
	}
	for _, ip := range addrs {
		if a.inNets(ip) {
			return true, ""
		}
	}
	return false, fmt.Sprintf("it resolves to %v", addrs)
}

// byName: the host matches a name or wildcard entry.
func (a *AllowList) byName(host string) bool {
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

func (a *AllowList) inNets(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, n := range a.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// DialContext wraps d for the callback client: a host allowed by name is
// dialled as it is; any other connection must reach an address inside a
// CIDR entry, checked on the address being connected after resolution.
func (a *AllowList) DialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if a.Empty() {
		return d.DialContext
	}
	guarded := *d
	guarded.Control = func(_, address string, _ syscall.RawConn) error {
		h, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip, err := netip.ParseAddr(h); err != nil || !a.inNets(ip) {
			return fmt.Errorf("callback address %s is not in the callback allow-list (--callback-allow)", h)
		}
		return nil
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(addr); err == nil && a.byName(strings.ToLower(host)) {
			return d.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
}

// ValidateCallback checks an X-Callback-Url value: an absolute http(s) URL
// whose host is allowed. Errors are 400s.
func (a *AllowList) ValidateCallback(ctx context.Context, raw string) error {
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
	if ok, why := a.allows(ctx, host); !ok {
		if why != "" {
			why = " (" + why + ")"
		}
		return api.BadRequest("X-Callback-Url host %q is not in the callback allow-list (--callback-allow)%s", host, why)
	}
	return nil
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
