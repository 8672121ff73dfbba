package ui

import (
	"embed"
	"html"
	"io/fs"
	"path"
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
		"{{APP}}", LoginPathDir+"assets/"+appName,
		"{{VERSION}}", html.EscapeString(opts.Version),
	).Replace(mustRead("static/shell.html"))
	return &bundle{
		// The shell must be revalidated so a new binary's script name is seen.
		shell:  newAsset("text/html; charset=utf-8", "no-cache", []byte(shell)),
		assets: map[string]*asset{appName: app},
	}
}

// LoginPathDir is the folder the shell's relative URLs resolve against.
const LoginPathDir = Prefix

func mustRead(name string) string {
	b, err := static.ReadFile(name)
	if err != nil {
		panic("ui: " + err.Error())
	}
	return string(b)
}
