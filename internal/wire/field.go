package wire

import (
	"net/textproto"
	"strings"
)

// Field is one header line scanned in place: its canonical name and
// trimmed value.
type Field struct{ K, V string }

// Listed reports whether a Connection header in fs names k (those
// headers are connection-level too, and not forwarded).
func Listed(fs []Field, k string) bool {
	for _, f := range fs {
		if f.K != "Connection" {
			continue
		}
		for v := f.V; v != ""; {
			var item string
			if i := strings.IndexByte(v, ','); i >= 0 {
				item, v = v[:i], v[i+1:]
			} else {
				item, v = v, ""
			}
			if item = TrimOWS(item); item != "" && textproto.CanonicalMIMEHeaderKey(item) == k {
				return true
			}
		}
	}
	return false
}
