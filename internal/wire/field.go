package wire

import (
	"iter"
	"net/http"
	"net/textproto"
)

// Field is one header line scanned in place: its canonical name and
// trimmed value.
type Field struct{ K, V string }

// Items yields the elements of a comma-separated list (a Connection or
// Trailer header), trimmed, empty ones skipped: every list the project
// reads by hand is cut here, so that two readers cannot split one list
// two ways.
func Items(v string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for v != "" {
			var item string
			if i := indexByte(v, ','); i >= 0 {
				item, v = v[:i], v[i+1:]
			} else {
				item, v = v, ""
			}
			if item = TrimOWS(item); item != "" && !yield(item) {
				return
			}
		}
	}
}

// HasToken reports whether the comma-separated list v holds tok (case
// insensitive), as in a Connection header.
func HasToken(v, tok string) bool {
	for item := range Items(v) {
		if EqualFold(item, tok) {
			return true
		}
	}
	return false
}

// ListsToken is HasToken over every value of a field (a header map's
// Connection values).
func ListsToken(vv []string, tok string) bool {
	for _, v := range vv {
		if HasToken(v, tok) {
			return true
		}
	}
	return false
}

// Listed reports whether a Connection header in fs names k (those
// headers are connection-level too, and not forwarded).
func Listed(fs []Field, k string) bool {
	for _, f := range fs {
		if f.K != "Connection" {
			continue
		}
		for item := range Items(f.V) {
			if textproto.CanonicalMIMEHeaderKey(item) == k {
				return true
			}
		}
	}
	return false
}

// RemoveHopHeaders deletes from h (a request or response net/http read)
// what a proxy must not forward: the fields its Connection header names,
// then the hop-by-hop ones (IsHopHeader). It walks the map once: a call
// carries a handful of headers, and ten deletes by name cost more.
func RemoveHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for item := range Items(v) {
			delete(h, textproto.CanonicalMIMEHeaderKey(item))
		}
	}
	for k := range h {
		if IsHopHeader(k) {
			delete(h, k)
		}
	}
}
