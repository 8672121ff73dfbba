package ui

import "net/http"

// UIHeader marks API requests made by the portal. On those, Public removes
// WWW-Authenticate from 401 answers so the browser does not pop up its own
// basic-auth dialog over the portal's login form.
const UIHeader = "X-Ferry-UI"

// uiHeaderKey is UIHeader as the header map stores it: looked up directly,
// since Header.Get would canonicalize (allocate) on every call.
var uiHeaderKey = http.CanonicalHeaderKey(UIHeader)

// Public wraps the gateway's whole handler (not the mounted /ui/ handler:
// it must run before the gateway's auth). It
//   - serves the login shell at /ui/login without auth (it holds no data:
//     only the form, the CSS and a loader; the app script stays behind auth);
//   - redirects a browser that opens /ui/ without credentials to /ui/login
//     instead of letting the gateway answer 401 (which would show the
//     browser's basic-auth dialog); the URL fragment survives the redirect;
//   - strips WWW-Authenticate from 401s to requests carrying UIHeader.
func Public(h http.Handler, opts Options) http.Handler {
	shell := mustBundle(opts).shell
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		get := r.Method == http.MethodGet || r.Method == http.MethodHead
		switch {
		case get && r.URL.Path == LoginPath:
			shell.serve(w, r)
			return
		case get && (r.URL.Path == "/ui" || r.URL.Path == "/ui/" || r.URL.Path == "/") && r.Header.Get("Authorization") == "":
			http.Redirect(w, r, LoginPath, http.StatusSeeOther)
			return
		case len(r.Header[uiHeaderKey]) > 0 && r.Header[uiHeaderKey][0] != "":
			w = &quiet401{ResponseWriter: w}
		}
		h.ServeHTTP(w, r)
	})
}

// quiet401 drops WWW-Authenticate when the status is 401. It keeps
// http.Flusher working through Unwrap (the log stream needs it).
type quiet401 struct {
	http.ResponseWriter
	wrote bool
}

func (q *quiet401) WriteHeader(code int) {
	if !q.wrote && code == http.StatusUnauthorized {
		q.Header().Del("WWW-Authenticate")
	}
	q.wrote = true
	q.ResponseWriter.WriteHeader(code)
}

func (q *quiet401) Write(b []byte) (int, error) {
	q.wrote = true
	return q.ResponseWriter.Write(b)
}

func (q *quiet401) Flush() {
	q.wrote = true
	if f, ok := q.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (q *quiet401) Unwrap() http.ResponseWriter { return q.ResponseWriter }
