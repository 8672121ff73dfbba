// Package templates ships Ferry's language templates inside the binary, so
// `ferry new` and `ferry build` work offline without a template folder.
//
// The tree is faas-cli's layout, template/<lang>/ (see README.md), kept in
// the folder _template so that the go tool ignores the Go shims it holds
// (they belong to the user's function module, not to Ferry). Go templates
// ship no go.mod: the builder writes it (a go.mod inside would make the
// folder a separate module that go:embed cannot include).
package templates

import (
	"embed"
	"io/fs"
	"sort"
)

//go:embed all:_template
var embedded embed.FS

// FS is the template tree: <lang>/template.yml, <lang>/function/, ...
var FS fs.FS = mustSub(embedded, "_template")

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

// Languages lists the shipped templates, sorted.
func Languages() []string {
	ents, _ := fs.ReadDir(FS, ".")
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}
