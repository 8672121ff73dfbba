package http1

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferryfaas/ferry/internal/wire"
)

// errFallback: the request is not one the lean loop takes (nothing was
// consumed); net/http serves the connection from here on.
var errFallback = errors.New("http1: request left to net/http")

// head is a parsed request head; its strings share one allocation.
type head struct {
	wire.Head
	header http.Header
}

// peekHead waits until br holds a whole request head and parses it without
// consuming anything. It returns errFallback for anything outside the
// strict subset below, and the read error if the connection failed. wait,
// if not nil, is called once before it first has to wait for more bytes
// (a head that came whole, the usual case, does not wait).
func peekHead(br *bufio.Reader, fast func(string) bool, wait func()) (*head, error) {
	for {
		buf, _ := br.Peek(br.Buffered())
		if end := wire.HeadEnd(buf); end > 0 {
			return parseHead(buf[:end], fast)
		} else if end < 0 {
			return nil, errFallback
		}
		if br.Buffered() >= wire.MaxHeadBytes || br.Buffered() == br.Size() {
			return nil, errFallback
		}
		if wait != nil {
			wait()
			wait = nil
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			if br.Buffered() > 0 && !isTimeout(err) {
				return nil, errFallback // let net/http answer a cut head
			}
			return nil, err
		}
	}
}

// parseHead is ScanHead building the request's header map.
func parseHead(b []byte, fast func(string) bool) (*head, error) {
	s := string(b) // every string below is a slice of this one
	n := strings.Count(s, "\n") - 2
	if n > wire.MaxHeaders {
		return nil, errFallback
	}
	hdr := make(http.Header, n+4) // room for a proxy's X-Forwarded-* and call headers
	vals := make([]string, max(n, 0))
	h, ok := wire.ScanHead(s, fast, func(i int, k, v string) { wire.AddField(hdr, vals, i, k, v) })
	if !ok {
		return nil, errFallback
	}
	return &head{Head: h, header: hdr}, nil
}

// request builds the *http.Request net/http would have built for h, as a
// copy of base (the connection's: its context, remote address and
// protocol), which costs one allocation where WithContext would add one.
func (h *head) request(base *http.Request, body *bodyReader) (*http.Request, error) {
	var u *url.URL
	if wire.PlainPath(h.Path) {
		u = &url.URL{Path: h.Path}
		if len(h.Path) < len(h.Target) {
			u.RawQuery = h.Target[len(h.Path)+1:]
		}
	} else {
		var err error
		if u, err = url.ParseRequestURI(h.Target); err != nil {
			return nil, errFallback
		}
	}
	r := new(http.Request)
	*r = *base
	r.Method, r.URL, r.Header, r.Host, r.RequestURI, r.Close = h.Method, u, h.header, h.Host, h.Target, h.Close
	r.Body = http.NoBody
	if h.ContentLength > 0 {
		r.ContentLength, r.Body = h.ContentLength, body
	}
	return r, nil
}

// baseRequest is what every request of a connection shares.
func baseRequest(ctx context.Context, remote string) *http.Request {
	return (&http.Request{Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, RemoteAddr: remote}).WithContext(ctx)
}
