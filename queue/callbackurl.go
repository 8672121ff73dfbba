package queue

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// AllowList restricts callback targets. The async route needs no
// credentials, so anyone who can reach the gateway chooses where it POSTs
// (request forgery). Whatever the list, link-local, cloud metadata,
// unspecified and multicast addresses and the gateway's own ports
// (OwnPorts, on any local address) are refused (see callbackguard.go); an
// IP or CIDR entry lifts those refusals, except the own ports, for the
// addresses it contains. Entries are host names ("hooks.example.com"),
// wildcards ("*.example.com"), IP addresses or CIDR ranges ("10.0.0.0/8").
//
// A host allowed by name may resolve anywhere not refused by default. Any
// other host must reach an address inside a CIDR entry. Names are resolved
// at enqueue (400 when refused), and the worker's dialer checks the
// address it actually connects to (DialContext), so a name that resolves
// elsewhere by the time the callback is sent (DNS rebinding) is still
// refused. Callbacks never follow redirects.
type AllowList struct {
	hosts    map[string]bool
	suffixes []string
	nets     []netip.Prefix
	// OwnPorts are the gateway's listening ports: never a callback target
	// on any address of this host.
	OwnPorts []int
	// Resolve looks up a host name at enqueue and at dial time (default:
	// the system resolver); tests give their own.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// ParseAllowList reads a comma-separated list; empty allows every target
// not refused by default.
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

// Empty reports whether no entry was given (every target not refused by
// default is allowed).
func (a *AllowList) Empty() bool {
	return a == nil || (len(a.hosts) == 0 && len(a.suffixes) == 0 && len(a.nets) == 0)
}

// resolveTimeout bounds the lookup of a callback host at enqueue.
const resolveTimeout = 2 * time.Second

// check judges a callback host at enqueue: "" when it may be accepted,
// else why not. A name is resolved and refused if any address is refused
// by default; with an allow-list, one address inside it is enough (the
// dialer connects only to those). A name that does not resolve now is
// accepted unless only CIDR entries could allow it: the dialer judges
// again at send time.
func (a *AllowList) check(ctx context.Context, host string, port int) string {
	host = strings.ToLower(host)
	if isMetadataName(host) {
		return "it is a cloud metadata name"
	}
	byName := a.byName(host)
	var addrs []netip.Addr
	var err error
	if ip, perr := netip.ParseAddr(strings.Trim(host, "[]")); perr == nil {
		// An address (the usual loopback or in-cluster receiver): nothing
		// to resolve, so no timer to arm for it on every enqueue.
		one := [1]netip.Addr{ip}
		addrs = one[:]
	} else {
		rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		addrs, err = a.lookup(rctx, host)
		cancel()
	}
	if err != nil {
		if !a.Empty() && !byName {
			return "it is not in the callback allow-list (--callback-allow) and does not resolve"
		}
		return ""
	}
	listed := a.Empty() || byName
	for _, ip := range addrs {
		if why := a.danger(ip, port); why != "" {
			return why
		}
		listed = listed || a.inNets(ip)
	}
	if listed {
		return ""
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return "it is not in the callback allow-list (--callback-allow)"
	}
	return fmt.Sprintf("it is not in the callback allow-list (--callback-allow): it resolves to %v", addrs)
}

// byName: the host matches a name or wildcard entry.
func (a *AllowList) byName(host string) bool {
	if a == nil {
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

func (a *AllowList) inNets(ip netip.Addr) bool {
	if a == nil {
		return false
	}
	ip = ip.Unmap()
	for _, n := range a.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// ValidateCallback checks an X-Callback-Url value: an absolute http(s) URL
// without credentials whose host may be called back. Errors are 400s that
// never repeat a password.
func (a *AllowList) ValidateCallback(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return api.BadRequest("X-Callback-Url %q is not an absolute URL", RedactURL(raw))
	}
	if u.User != nil {
		// Go would send them as Authorization and they would be logged
		// and listed with the call: pass a token in the path instead.
		return api.BadRequest("X-Callback-Url %q must not carry credentials (user:password@)", RedactURL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return api.BadRequest("X-Callback-Url %q must use http or https", short(raw))
	}
	host := u.Hostname()
	if host == "" {
		return api.BadRequest("X-Callback-Url %q has no host", short(raw))
	}
	if numericName(host) {
		return api.BadRequest("X-Callback-Url host %q is an address in a short, octal or hex form (inet_aton's), which this server does not resolve as one: write it as a dotted quad (127.0.0.1) or a name", host)
	}
	// "localhost." is localhost: judged as such, not as another name.
	host = strings.TrimSuffix(host, ".")
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return api.BadRequest("X-Callback-Url %q has an invalid port", short(raw))
		}
	}
	if why := a.check(ctx, host, URLPort(u)); why != "" {
		return api.BadRequest("X-Callback-Url host %q is refused: %s", host, why)
	}
	return nil
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// numericName reports a host whose every label is a number (decimal, or
// hex after 0x): 127.1, 0, 2130706433, 0x7f000001, 0177.0.0.1. Some
// resolvers take these for addresses and Go's does not, so they would be
// judged as names here and sent to DNS at every delivery attempt. No real
// name is all numbers (top-level domains are not).
func numericName(host string) bool {
	host = strings.TrimSuffix(host, ".")
	if host == "" || strings.Contains(host, ":") {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return false // a canonical address
	}
	for _, l := range strings.Split(host, ".") {
		digits := "0123456789"
		if len(l) > 2 && (l[:2] == "0x" || l[:2] == "0X") {
			l, digits = l[2:], "0123456789abcdefABCDEF"
		}
		if l == "" || strings.Trim(l, digits) != "" {
			return false
		}
	}
	return true
}
