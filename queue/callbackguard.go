package queue

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Callback targets refused whatever the allow-list says by name: the
// async route is anonymous, so without these anyone could make the gateway
// fetch cloud credentials or call its own API. Loopback stays allowed
// (except the gateway's own ports): a receiver on the same machine is how
// callbacks are usually tried out.

// metadataNames are cloud instance-metadata host names.
var metadataNames = []string{"metadata", "metadata.google.internal", "metadata.goog",
	"instance-data", "instance-data.ec2.internal", "metadata.azure.internal"}

// metadataAddrs are instance-metadata addresses outside link-local.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

var thisNetwork = netip.MustParsePrefix("0.0.0.0/8") // dials reach this host

// refusedClass names why ip is never a callback target by default, or "".
func refusedClass(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsUnspecified() || thisNetwork.Contains(ip):
		return "an unspecified address"
	case slices.Contains(metadataAddrs, ip):
		return "a cloud metadata address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address (cloud metadata lives there)"
	case ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "a multicast or broadcast address"
	}
	return ""
}

// isMetadataName: the host names a cloud metadata service.
func isMetadataName(host string) bool {
	return slices.Contains(metadataNames, strings.TrimSuffix(strings.ToLower(host), "."))
}

// isLocal reports whether ip is an address of this host.
func isLocal(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true // cannot tell: treat as ours, the safe side
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if la, ok := netip.AddrFromSlice(n.IP); ok && la.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// danger says why ip:port is never a callback target, or "": the
// gateway's own ports on a local address, and the default-refused classes
// unless an IP or CIDR entry lifts them.
func (a *AllowList) danger(ip netip.Addr, port int) string {
	ip = ip.Unmap()
	if a != nil && slices.Contains(a.OwnPorts, port) && isLocal(ip) {
		return fmt.Sprintf("%s is this gateway's own listener", netip.AddrPortFrom(ip, uint16(port)))
	}
	if why := refusedClass(ip); why != "" && !a.inNets(ip) {
		return fmt.Sprintf("%s is %s", ip, why)
	}
	return ""
}

// refusal says why a connection to ip:port may not carry a callback, or
// "". byName is true when the URL's host is allowed by a name entry.
func (a *AllowList) refusal(ip netip.Addr, port int, byName bool) string {
	if why := a.danger(ip, port); why != "" {
		return why
	}
	if !a.Empty() && !byName && !a.inNets(ip) {
		return fmt.Sprintf("%s is not in the callback allow-list (--callback-allow)", ip.Unmap())
	}
	return ""
}

// URLPort is the URL's port, or its scheme's.
func URLPort(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// DialContext wraps d for the callback client: every address is checked
// as it is connected, after resolution, so that a name re-pointed after
// enqueue (DNS rebinding) still reaches nothing refused. Names are
// resolved here (with Resolve when set) and each address dialled as an IP;
// d's Control checks the socket's address once more.
func (a *AllowList) DialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, ps, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		port, _ := strconv.Atoi(ps)
		byName := a.byName(strings.ToLower(host))
		if isMetadataName(host) {
			return nil, fmt.Errorf("callback host %s is a cloud metadata name", host)
		}
		ips, err := a.lookup(ctx, host)
		if err != nil {
			return nil, err
		}
		guarded := *d
		guarded.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if why := a.refusal(ap.Addr(), int(ap.Port()), byName); why != "" {
				return fmt.Errorf("callback address refused: %s", why)
			}
			return nil
		}
		err = fmt.Errorf("callback host %s has no address", host)
		for _, ip := range ips {
			if why := a.refusal(ip, port, byName); why != "" {
				err = fmt.Errorf("callback address refused: %s", why)
				continue
			}
			c, derr := guarded.DialContext(ctx, network, netip.AddrPortFrom(ip, uint16(port)).String())
			if derr == nil {
				return c, nil
			}
			err = derr
		}
		return nil, err
	}
}

// lookup resolves host (an IP literal is its own answer).
func (a *AllowList) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{ip}, nil
	}
	resolve := defaultResolve
	if a != nil && a.Resolve != nil {
		resolve = a.Resolve
	}
	return resolve(ctx, host)
}

func defaultResolve(ctx context.Context, h string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
}

// RedactURL hides a URL's password (callback URLs are logged and listed).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "(unparsable URL)"
		}
		return short(raw)
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	return short(u.String())
}
