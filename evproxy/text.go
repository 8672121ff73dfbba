package evproxy

import (
	"bytes"
	"strings"

	"github.com/ferryfaas/ferry/h1"
)

var (
	indexByte = strings.IndexByte
	contains  = strings.Contains
	equalFold = strings.EqualFold
	trimOWS   = h1.TrimOWS
	hasToken  = h1.HasToken
)

func bytesIndexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }
