package wire

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// The head writers: requests for the project's three upstream clients
// (the event loop's, the gateway's lean client and the watchdog's), and
// the status line and fields the fronts answer with. Each appends to a
// buffer (a bufio.Writer's AvailableBuffer, or the loop's own), so that a
// head is one write.

// AppendRequestHead appends a whole request head: the request line, Host,
// the fields of h but hop-by-hop ones, Host and Content-Length (the
// writer's own), and the framing of a body of n bytes (EndRequestHead).
// h comes from a request net/http or the fronts parsed and validated,
// plus the caller's own fields.
func AppendRequestHead(dst []byte, method, target, query, host string, h http.Header, n int64) []byte {
	return EndRequestHead(appendRequestFields(dst, method, target, query, host, h), method, n)
}

// AppendUpgradeHead appends the head of a protocol upgrade (WebSocket)
// sent on to the next hop: AppendRequestHead's line and fields, no body,
// and the hop's own Connection: Upgrade with the protocols asked for
// (Upgrade being hop-by-hop, each hop states it again).
func AppendUpgradeHead(dst []byte, method, target, host string, h http.Header, protocols []string) []byte {
	dst = appendRequestFields(dst, method, target, "", host, h)
	dst = AppendField(dst, "Connection", "Upgrade")
	dst = AppendField(dst, "Upgrade", strings.Join(protocols, ", "))
	return append(dst, "\r\n"...)
}

// appendRequestFields appends the request line, Host and the fields of h
// a proxy forwards.
func appendRequestFields(dst []byte, method, target, query, host string, h http.Header) []byte {
	dst = AppendRequestLine(dst, method, target, query)
	dst = AppendField(dst, "Host", host)
	for k, vv := range h {
		if !ForwardRequestField(k) {
			continue
		}
		for _, v := range vv {
			dst = AppendField(dst, k, v)
		}
	}
	return dst
}

// AppendHeader appends every field of h (a response head's, as
// http.ReadResponse read it).
func AppendHeader(dst []byte, h http.Header) []byte {
	for k, vv := range h {
		for _, v := range vv {
			dst = AppendField(dst, k, v)
		}
	}
	return dst
}

// AppendRequestLine appends "METHOD TARGET[?QUERY] HTTP/1.1".
func AppendRequestLine(dst []byte, method, target, query string) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	if query != "" {
		dst = append(dst, '?')
		dst = append(dst, query...)
	}
	return append(dst, " HTTP/1.1\r\n"...)
}

// AppendHost appends the Host field of a replica known by its address.
func AppendHost(dst []byte, a netip.AddrPort) []byte {
	dst = append(dst, "Host: "...)
	dst = a.AppendTo(dst)
	return append(dst, "\r\n"...)
}

// AppendField appends one header line.
func AppendField(dst []byte, k, v string) []byte {
	dst = append(dst, k...)
	dst = append(dst, ": "...)
	dst = append(dst, v...)
	return append(dst, "\r\n"...)
}

// EndRequestHead appends the framing of a body of n bytes (-1: unknown,
// sent chunked) and the empty line that ends the head. An empty body of
// a method that carries one gets "Content-Length: 0", as net/http's
// client sends.
func EndRequestHead(dst []byte, method string, n int64) []byte {
	switch {
	case n > 0 || n == 0 && (method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch):
		dst = AppendContentLength(dst, n)
	case n < 0:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// AppendStatusLine appends "HTTP/1.1 CODE TEXT" with net/http's text, or
// its "status code CODE" for a code it has none for.
func AppendStatusLine(dst []byte, code int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	if text := http.StatusText(code); text != "" {
		dst = append(dst, ' ')
		dst = append(dst, text...)
	} else {
		dst = append(dst, " status code "...)
		dst = strconv.AppendInt(dst, int64(code), 10)
	}
	return append(dst, "\r\n"...)
}

// AppendContentLength appends a Content-Length field.
func AppendContentLength(dst []byte, n int64) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, "\r\n"...)
}
