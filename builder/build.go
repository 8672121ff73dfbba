package builder

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/templates"
)

var validName = regexp.MustCompile(`^[-a-zA-Z_0-9.]+$`)

// Build builds the artifact of o.Function and, if asked, its image.
//
// Steps: find the template (o.TemplatesDir, then the embedded ones); lay
// out OutDir/<fn>/ as a copy of it with the handler in its handler folder
// (faas-cli's layout); compile Go templates; pack OutDir/<fn>.tar.gz
// reproducibly; then assemble the image when o.Image.Enabled.
func Build(ctx context.Context, o Options) (*Result, error) {
	fn := o.Function
	if !validName.MatchString(fn.Name) {
		return nil, fmt.Errorf("bad function name %q: use letters, digits, '-', '_' and '.'", fn.Name)
	}
	p := progress{w: o.Progress, fn: fn.Name, start: time.Now()}
	tpl, err := templates.Lookup(o.TemplatesDir, fn.Lang)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	handler := fn.Handler
	if handler == "" {
		return nil, fmt.Errorf("function %s has no handler: set `handler:` in stack.yml to its folder", fn.Name)
	}
	if !filepath.IsAbs(handler) {
		handler = filepath.Join(o.StackDir, handler)
	}
	handler, _ = filepath.Abs(handler)
	if st, err := os.Stat(handler); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("function %s: handler folder %s not found: create it (ferry new) or fix `handler:` in stack.yml", fn.Name, handler)
	}
	outDir := o.OutDir
	if outDir == "" {
		outDir = "build"
	}
	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(o.StackDir, outDir)
	}
	outDir, _ = filepath.Abs(outDir)
	workDir := filepath.Join(outDir, fn.Name)
	if within(handler, workDir) || within(o.StackDir, workDir) && o.StackDir != "" {
		return nil, fmt.Errorf("function %s: build folder %s would overwrite the handler or stack folder: choose another --out", fn.Name, workDir)
	}
	p.say("template %s (%s)", fn.Lang, tpl.Source)

	if err := os.RemoveAll(workDir); err != nil {
		return nil, fmt.Errorf("cleaning %s: %w", workDir, err)
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, err
	}
	var entries []tarEntry
	if tpl.Ferry.HandlerOnly {
		if err := copyDir(handler, workDir, outDir); err != nil {
			return nil, fmt.Errorf("copying handler %s: %w", handler, err)
		}
	} else {
		if err := copyFS(tpl.FS, workDir, map[string]bool{tpl.HandlerFolder: true}); err != nil {
			return nil, fmt.Errorf("copying template %s: %w", tpl.Source, err)
		}
		fnDir := filepath.Join(workDir, tpl.HandlerFolder)
		if err := os.MkdirAll(fnDir, 0o755); err != nil {
			return nil, err
		}
		if err := copyDir(handler, fnDir, outDir); err != nil {
			return nil, fmt.Errorf("copying handler %s: %w", handler, err)
		}
	}
	p.say("build context %s", workDir)
	if o.Image.Enabled && tpl.Ferry.Runtime == "wasm" {
		return nil, fmt.Errorf("function %s: lang %s builds a WebAssembly module for the wasm runtime, not an image: build without --image", fn.Name, fn.Lang)
	}
	if o.InstallDeps && !tpl.Ferry.HandlerOnly && tpl.Ferry.Compile == "" {
		if err := installDeps(ctx, filepath.Join(workDir, tpl.HandlerFolder), &p); err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.Name, err)
		}
	}

	if target, ok := goTargetOf(tpl.Ferry.Compile); ok {
		p.say("go build (GOOS=%s GOARCH=%s CGO_ENABLED=0, -trimpath)", target.goos, target.goarch)
		bin, err := compileGo(ctx, workDir, tpl.HandlerFolder, target, fn.BuildArgs)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.Name, err)
		}
		entries = []tarEntry{{name: target.out, src: bin, mode: 0o755, typ: tar.TypeReg}}
	} else if tpl.Ferry.Compile == "rust-wasm" {
		tc, err := FindRustWasm()
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.Name, err)
		}
		p.say("cargo build --release --offline --target %s (%s)", tc.Target, tc.Rustc)
		mod, err := compileRustWasm(ctx, tc, workDir, fn.BuildArgs)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.Name, err)
		}
		entries = []tarEntry{{name: wasmModuleName, src: mod, mode: 0o755, typ: tar.TypeReg}}
	} else {
		entries, err = dirEntries(workDir, "")
		if err != nil {
			return nil, err
		}
	}

	if tpl.Ferry.HandlerOnly && (!o.Image.Enabled || o.ProcessArtifact) {
		if err := checkProcessDockerfile(handler); err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.Name, err)
		}
	}
	res := &Result{}
	if tpl.Ferry.Runtime != "" {
		res.Labels = map[string]string{RuntimeLabel: tpl.Ferry.Runtime}
	}
	res.EnvProcess, res.EnvVars, err = runSettings(fn.FProcess, tpl, handler)
	// An image built from the handler's Dockerfile says how it runs itself.
	if err != nil && !(tpl.Ferry.HandlerOnly && o.Image.Enabled && !o.ProcessArtifact) {
		return nil, fmt.Errorf("function %s: %w", fn.Name, err)
	}

	res.ArtifactPath = filepath.Join(outDir, fn.Name+".tar.gz")
	if res.ArtifactDigest, err = writeArtifact(res.ArtifactPath, entries); err != nil {
		return nil, fmt.Errorf("function %s: writing artifact: %w", fn.Name, err)
	}
	p.say("artifact %s %s", res.ArtifactPath, res.ArtifactDigest)

	if o.Image.Enabled && tpl.Ferry.HandlerOnly {
		if err := dockerfileImage(ctx, o, workDir, res, outDir, &p); err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.Name, err)
		}
	} else if o.Image.Enabled {
		if err := buildImage(ctx, o, tpl, entries, res, outDir, &p); err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.Name, err)
		}
	}
	p.say("done in %s", time.Since(p.start).Round(time.Millisecond))
	return res, nil
}

// runSettings is the command and watchdog environment of the function.
// An http-mode template whose shim takes its port from the environment
// gets no upstream_url, so that the process runtime picks one per replica;
// a template with a fixed upstream (faas-cli's own) keeps its upstream_url.
func runSettings(fprocess string, tpl *templates.Template, handlerDir string) (string, map[string]string, error) {
	mode, upstreamURL := tpl.Ferry.Mode, tpl.Ferry.UpstreamURL
	if fprocess == "" {
		fprocess = tpl.FProcess
	}
	if tpl.Ferry.HandlerOnly {
		// lang dockerfile: the user's Dockerfile says how it runs.
		if df, err := os.ReadFile(filepath.Join(handlerDir, "Dockerfile")); err == nil {
			env := templates.DockerfileEnv(df)
			if fprocess == "" {
				fprocess = env["fprocess"]
			}
			if env["mode"] != "" {
				mode = env["mode"]
			}
			if env["upstream_url"] != "" {
				upstreamURL = env["upstream_url"]
			}
		}
	}
	if fprocess == "" {
		return "", nil, fmt.Errorf("no fprocess for lang %s: set `fprocess:` in stack.yml (or ENV fprocess in the handler's Dockerfile)", tpl.Language)
	}
	if mode == "" {
		mode = "streaming"
	}
	env := map[string]string{"mode": mode}
	if mode == "http" {
		if tpl.Ferry.UpstreamPort != 0 {
			// No upstream_url: the process runtime then gives each replica
			// a free port (upstream_url, http_port, PORT) and the shims
			// listen there; images carry the template's default port.
		} else if upstreamURL != "" {
			env["upstream_url"] = upstreamURL
		} else {
			return "", nil, fmt.Errorf("template %s is http mode but names no upstream: add ferry.upstream_port to its template.yml", tpl.Language)
		}
	}
	return fprocess, env, nil
}

// writeArtifact writes the reproducible .tar.gz and returns "sha256:<hex>"
// of its bytes.
func writeArtifact(path string, entries []tarEntry) (string, error) {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if err := writeTarGz(io.MultiWriter(f, h), entries, tarOwner{}); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// progress prints one line per step: "[fn] step".
type progress struct {
	w     io.Writer
	fn    string
	start time.Time
}

func (p *progress) say(format string, args ...any) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "[%s] %s\n", p.fn, fmt.Sprintf(format, args...))
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	path, dir = filepath.Clean(path), filepath.Clean(dir)
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
