package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"
)

//go:embed static
var static embed.FS

// bundle is everything the portal serves, prepared once at start.
type bundle struct {
	shell  *asset            // /ui/, /ui/login: HTML with inline CSS and the loader
	assets map[string]*asset // /ui/assets/NAME (content-hashed names)
}

// mustBundle concatenates static/js/*.js in file-name order into one module
// (the files share one scope; numbered names fix the order, so there is no
// bundler and no build step) and renders the shell with the script's
// content-hashed name. The embedded files are part of the binary, so an
// error here is a programming error.
func mustBundle(opts Options) *bundle {
	names, err := fs.Glob(static, "static/js/*.js")
	if err != nil || len(names) == 0 {
		panic("ui: no embedded scripts under static/js")
	}
	sort.Strings(names)
	var js strings.Builder
	for _, n := range names {
		b, err := static.ReadFile(n)
		if err != nil {
			panic("ui: " + err.Error())
		}
		js.WriteString("// " + path.Base(n) + "\n")
		js.Write(b)
		js.WriteString("\n")
	}
	app := newAsset("text/javascript; charset=utf-8", "private, max-age=31536000, immutable", []byte(js.String()))
	appName := "app." + app.hash + ".js"

	css := mustRead("static/app.css")
	shell := strings.NewReplacer(
		"{{CSS}}", css,
		"{{APP}}", Prefix+"assets/"+appName,
		"{{VERSION}}", html.EscapeString(opts.Version),
	).Replace(mustRead("static/shell.html"))
	sh := newAsset("text/html; charset=utf-8", "no-cache", []byte(shell))
	sh.extra = http.Header{
		"Content-Security-Policy": {csp(shell)},
		"X-Frame-Options":         {"DENY"},
		"Referrer-Policy":         {"no-referrer"},
	}
	return &bundle{
		// The shell must be revalidated so a new binary's script name is seen.
		shell:  sh,
		assets: map[string]*asset{appName: app},
	}
}

func mustRead(name string) string {
	b, err := static.ReadFile(name)
	if err != nil {
		panic("ui: " + err.Error())
	}
	return string(b)
}

var inlineScript = regexp.MustCompile(`(?s)<script[^>]*>(.*?)</script>`)

// csp allows exactly the shell's inline scripts (by hash) and the app
// script, which the loader runs from a blob: URL after fetching it with
// credentials; everything else is same-origin, and no page may frame the
// portal (its delete button must not be clickjacked).
func csp(shell string) string {
	var hashes []string
	for _, m := range inlineScript.FindAllStringSubmatch(shell, -1) {
		sum := sha256.Sum256([]byte(m[1]))
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return "default-src 'self'; script-src " + strings.Join(hashes, " ") + " blob:; style-src 'unsafe-inline'; " +
		"img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}
