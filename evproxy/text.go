package evproxy

import (
	"bytes"
	"strings"

	"github.com/ferryfaas/ferry/h1"
)

var (
	indexByte = strings.IndexByte
	contains  = strings.Contains
	equalFold = h1.EqualFold // ASCII only, as HTTP's names and tokens
	trimOWS   = h1.TrimOWS
	hasToken  = h1.HasToken
	// isToken: an RFC 9110 token; isCanonical: the form
	// http.CanonicalHeaderKey returns.
	isToken     = h1.IsToken
	isCanonical = h1.IsCanonical
	isHopHeader = h1.IsHopHeader
)

func bytesIndexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }
