package http1

import "strings"

// AppendForwardedFor appends one X-Forwarded-For value of the caller's
// (prior: skipped when blank) and the separator before the next, as every
// front does before it appends the peer's address: a proxy adds the
// address it was called from to the list, so that a caller cannot pass
// off another address as its own.
func AppendForwardedFor(dst []byte, prior string) []byte {
	if prior = strings.Trim(prior, " \t"); prior == "" {
		return dst
	}
	dst = append(dst, prior...)
	return append(dst, ", "...)
}
