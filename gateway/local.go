package gateway

import (
	"net/http"
	"time"
)

// InvokeLocal runs a call that comes from this process (the queue worker
// inside `ferry serve`) on the invoke path of /function/: the same route,
// replica choice, scale from zero, function timeout, metrics and request
// log, without a URL to build, parse and route, and without copying a
// body the caller already holds in memory. path is the escaped sub-path
// ("" or "/..."); r carries the method, query, headers and context, and
// its Body is ignored. The caller was authorised when the call was
// accepted, so neither auth nor the Host guard applies here.
func (g *Gateway) InvokeLocal(w http.ResponseWriter, r *http.Request, name, ns, path string, body []byte) {
	start := time.Now()
	defer g.recoverPanic(w, r)
	t, err := parseEscapedPath(name+"."+ns+path, "", g.cfg.DefaultNamespace, g.nsSuffix)
	if err != nil {
		g.writeError(w, err)
		return
	}
	r.Body, r.ContentLength = &memBody{b: body}, int64(len(body)) // taken as it is by invokeBody
	p := ""
	if g.cfg.LogRequests {
		p = "/function/" + t.fn + t.suffix
	}
	g.serveTarget(w, r, t, start, p)
}
