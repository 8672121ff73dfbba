// Package ui is Ferry's web portal: a single-page app whose assets are
// embedded in the binary (no CDN, no build step) and which talks only to the
// gateway's REST API with the user's basic-auth credentials.
//
// Login works without the browser's basic-auth prompt: the shell page (the
// login form plus a small loader) is public at /ui/login; everything else
// under /ui/ stays behind the gateway's auth. After the login form has
// checked the credentials against the API, the loader fetches the app script
// with an Authorization header and runs it. See Public for the pieces that
// must sit in front of the gateway's auth.
package ui

import (
	"net/http"
	"strings"
)

// Options configure the portal.
type Options struct {
	// Version is shown in the footer (e.g. "v0.3.0 (abc1234)").
	Version string
}

// Prefix is where the gateway mounts the portal.
const Prefix = "/ui/"

// LoginPath is the public shell page.
const LoginPath = Prefix + "login"

// Handler serves the portal. It accepts paths with or without the /ui
// prefix, so it works whether the gateway strips it or not.
func Handler(opts Options) http.Handler {
	b := mustBundle(opts)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the portal only answers GET", http.StatusMethodNotAllowed)
			return
		}
		p := strings.TrimPrefix(r.URL.Path, "/ui")
		switch {
		case p == "" || p == "/" || p == "/login" || p == "/index.html":
			b.shell.serve(w, r)
		case strings.HasPrefix(p, "/assets/"):
			a, ok := b.assets[strings.TrimPrefix(p, "/assets/")]
			if !ok {
				http.Error(w, "no such portal asset (the page may be older than the server: reload it)", http.StatusNotFound)
				return
			}
			a.serve(w, r)
		default:
			http.Error(w, "no such portal page; the portal lives at /ui/", http.StatusNotFound)
		}
	})
}
