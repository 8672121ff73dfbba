package eventloop

import (
	"bytes"
	"strings"

	"github.com/ferryfaas/ferry/internal/http1"
)

var (
	indexByte = strings.IndexByte
	contains  = strings.Contains
	equalFold = http1.EqualFold // ASCII only, as HTTP's names and tokens
	trimOWS   = http1.TrimOWS
	hasToken  = http1.HasToken
	// isToken: an RFC 9110 token; isCanonical: the form
	// http.CanonicalHeaderKey returns.
	isToken     = http1.IsToken
	isCanonical = http1.IsCanonical
	isHopHeader = http1.IsHopHeader
)

func bytesIndexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }
