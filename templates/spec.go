package templates

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Spec is a template.yml: faas-cli's fields plus Ferry's own `ferry:`
// section (faas-cli ignores unknown keys).
type Spec struct {
	Language       string        `yaml:"language"`
	FProcess       string        `yaml:"fprocess,omitempty"`
	HandlerFolder  string        `yaml:"handler_folder,omitempty"`
	BuildOptions   []BuildOption `yaml:"build_options,omitempty"`
	WelcomeMessage string        `yaml:"welcome_message,omitempty"`
	Ferry          Ferry         `yaml:"ferry,omitempty"`
}

// BuildOption is faas-cli's named list of OS packages (informational here).
type BuildOption struct {
	Name     string   `yaml:"name"`
	Packages []string `yaml:"packages,omitempty"`
}

// Ferry is how the process runtime and the image builder run the template.
type Ferry struct {
	// Mode is the watchdog mode: http, streaming, serializing or static.
	Mode string `yaml:"mode,omitempty"`
	// UpstreamPort is the default port of an http-mode shim; shims read
	// env upstream_port so the process runtime can give each replica its own.
	UpstreamPort int `yaml:"upstream_port,omitempty"`
	// UpstreamURL is kept for templates (e.g. OpenFaaS's own) whose shim
	// listens on a fixed address.
	UpstreamURL string `yaml:"upstream_url,omitempty"`
	// BaseImage is the image interpreted languages run on; "" = scratch.
	BaseImage string `yaml:"base_image,omitempty"`
	// Compile "go" builds the template with `go build` into ./handler and
	// ships only that binary; "go-wasm" builds main.wasm for GOOS=wasip1,
	// "go-wasm-reactor" the same as a reactor (-buildmode=c-shared);
	// "rust-wasm" builds main.wasm with cargo for wasm32-wasip1 (or
	// wasm32-wasi), a WASI command.
	Compile string `yaml:"compile,omitempty"`
	// Runtime is the runtime the function needs (the label
	// com.ferryfaas.runtime that `ferry up` deploys it with); "" = the
	// server's default.
	Runtime string `yaml:"runtime,omitempty"`
	// HandlerOnly ships the user's handler folder as it is (lang dockerfile).
	HandlerOnly bool `yaml:"handler_only,omitempty"`
}

// Template is one template found on disk or in the embedded tree.
type Template struct {
	Spec
	// FS is rooted at the template folder (template.yml, function/, ...).
	FS fs.FS
	// Source says where it came from, for progress lines and errors.
	Source string
}

// Lookup finds template lang: first in dir (a folder holding <lang>/ or
// template/<lang>/, as `faas-cli template pull` leaves it), then in the
// embedded tree. An unknown lang is an error listing what exists.
func Lookup(dir, lang string) (*Template, error) {
	if lang == "" {
		return nil, fmt.Errorf("no lang given: set `lang:` in stack.yml (one of %s)", strings.Join(Languages(), ", "))
	}
	if strings.ContainsAny(lang, `/\`) || lang == "." || lang == ".." {
		return nil, fmt.Errorf("bad lang %q: a template name has no slashes", lang)
	}
	if dir != "" {
		for _, d := range []string{filepath.Join(dir, "template", lang), filepath.Join(dir, lang)} {
			if st, err := os.Stat(filepath.Join(d, "template.yml")); err == nil && !st.IsDir() {
				return load(os.DirFS(d), d)
			}
		}
	}
	if _, err := fs.Stat(FS, path.Join(lang, "template.yml")); err == nil {
		sub, _ := fs.Sub(FS, lang)
		return load(sub, "embedded:"+lang)
	}
	return nil, fmt.Errorf("unknown lang %q: use one of %s (ferry new --list)", lang, strings.Join(Languages(), ", "))
}

func load(fsys fs.FS, source string) (*Template, error) {
	b, err := fs.ReadFile(fsys, "template.yml")
	if err != nil {
		return nil, fmt.Errorf("template %s: %v", source, err)
	}
	t := &Template{FS: fsys, Source: source}
	if err := yaml.Unmarshal(b, &t.Spec); err != nil {
		return nil, fmt.Errorf("template %s/template.yml: %v", source, err)
	}
	if t.HandlerFolder == "" {
		t.HandlerFolder = "function"
	}
	// Templates without a ferry: section (faas-cli's own) say how they run
	// in their Dockerfile's ENV lines.
	if df, err := fs.ReadFile(fsys, "Dockerfile"); err == nil {
		env := DockerfileEnv(df)
		if t.FProcess == "" {
			t.FProcess = env["fprocess"]
		}
		if t.Ferry.Mode == "" {
			t.Ferry.Mode = env["mode"]
		}
		if t.Ferry.UpstreamURL == "" && t.Ferry.UpstreamPort == 0 {
			t.Ferry.UpstreamURL = env["upstream_url"]
		}
	}
	return t, nil
}

// DockerfileStep is one instruction of a Dockerfile: its keyword in upper
// case, the rest of its (joined) line, and the line it starts on.
type DockerfileStep struct {
	Line        int
	Instruction string
	Args        string
}

// DockerfileSteps splits a Dockerfile into its instructions, joining
// continued lines and skipping comments and blank lines.
func DockerfileSteps(dockerfile []byte) []DockerfileStep {
	var steps []DockerfileStep
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(bytes.NewReader(dockerfile))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || l == "" && cur.Len() == 0 {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(l, `\`) {
			cur.WriteString(strings.TrimSuffix(l, `\`) + " ")
			continue
		}
		cur.WriteString(l)
		if f := strings.Fields(cur.String()); len(f) > 0 {
			steps = append(steps, DockerfileStep{Line: start, Instruction: strings.ToUpper(f[0]),
				Args: strings.TrimSpace(strings.TrimSpace(cur.String())[len(f[0]):])})
		}
		cur.Reset()
	}
	return steps
}

// DockerfileEnv returns the variables set by the ENV lines of a Dockerfile
// (both `ENV k=v k2="v 2"` and `ENV k v`), later lines winning.
func DockerfileEnv(dockerfile []byte) map[string]string {
	env := map[string]string{}
	for _, st := range DockerfileSteps(dockerfile) {
		f := strings.Fields(st.Args)
		if st.Instruction != "ENV" || len(f) == 0 {
			continue
		}
		if !strings.Contains(f[0], "=") {
			env[f[0]] = unquote(strings.TrimSpace(st.Args[len(f[0]):]))
			continue
		}
		for _, kv := range splitWords(st.Args) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = unquote(v)
			}
		}
	}
	return env
}

// splitWords splits on spaces outside double quotes.
func splitWords(s string) []string {
	var out []string
	var cur strings.Builder
	inQ := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && inQ && i+1 < len(s):
			cur.WriteByte(c)
			i++
			cur.WriteByte(s[i])
		case c == '"':
			inQ = !inQ
			cur.WriteByte(c)
		case (c == ' ' || c == '\t') && !inQ:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if u, err := strconv.Unquote(v); err == nil {
			return u
		}
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	return v
}
