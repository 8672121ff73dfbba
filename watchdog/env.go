package watchdog

import (
	"net/http"
	"strconv"
	"strings"
)

// RequestEnv is the environment of a forked function: the function's own
// plus the request as CGI-style variables, as the OpenFaaS classic watchdog
// sets them: every header as Http_<Header_Name> (dashes become underscores:
// Http_Content_Type, Http_X_Call_Id), plus Http_Method, Http_Path,
// Http_Query, Http_ContentLength, Http_Host and Http_Transfer_Encoding.
//
// Other runtimes that run a function per request (the wasm runtime) build
// their guest's environment with it too, so every runtime gives the same.
func RequestEnv(base []string, r *http.Request) []string {
	env := make([]string, 0, len(base)+len(r.Header)+6)
	env = append(env, base...)
	var b strings.Builder
	for k, vv := range r.Header {
		if requestVars[k] {
			continue // a header may not pose as the request's own Http_Query...
		}
		b.Reset()
		b.Grow(len(k) + 6 + len(vv[0]))
		b.WriteString("Http_")
		for i := 0; i < len(k); i++ {
			c := k[i]
			if c == '-' {
				c = '_'
			}
			b.WriteByte(c)
		}
		b.WriteByte('=')
		for i, v := range vv {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(v)
		}
		env = append(env, b.String())
	}
	env = append(env,
		"Http_Method="+r.Method,
		"Http_ContentLength="+strconv.FormatInt(r.ContentLength, 10),
	)
	if len(r.TransferEncoding) > 0 {
		env = append(env, "Http_Transfer_Encoding="+r.TransferEncoding[0])
	}
	if r.URL.RawQuery != "" {
		env = append(env, "Http_Query="+r.URL.RawQuery)
	}
	if r.URL.Path != "" {
		env = append(env, "Http_Path="+r.URL.Path)
	}
	if r.Host != "" {
		env = append(env, "Http_Host="+r.Host)
	}
	return env
}

// requestVars are the canonical header names whose variable would be one
// of the request's own (Http_Query, Http_Path...): a caller sending
// "Query: admin=true" without a query string must not set Http_Query.
var requestVars = map[string]bool{"Method": true, "Query": true, "Path": true, "Host": true}
