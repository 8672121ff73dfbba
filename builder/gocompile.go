package builder

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// rootGoMod is the module of a Go template's shim: it imports the user's
// handler as handler/function from ./function (OpenFaaS's layout).
const rootGoMod = `module handler

go 1.22

require handler/function v0.0.0

replace handler/function => ./function
`

const functionGoMod = `module handler/function

go 1.22
`

// goBinaryName is what compiled templates produce and run (fprocess
// ./handler); wasmModuleName is what go-wasm templates produce (fprocess
// main.wasm, run by the wasm runtime).
const (
	goBinaryName   = "handler"
	wasmModuleName = "main.wasm"
)

// goTarget is what compileGo builds for: GOOS, GOARCH, the file made and
// the build mode ("" = a program).
type goTarget struct{ goos, goarch, out, buildmode string }

// goTargetOf is the target of a template's `ferry.compile`: "go" is a
// static binary for this machine, "go-wasm" a WASI preview 1 command
// module, "go-wasm-reactor" a WASI reactor (its shim exports handle; the
// wasm runtime starts each call from a snapshot taken after the Go
// runtime's start, which a command would pay per call).
func goTargetOf(compile string) (goTarget, bool) {
	switch compile {
	case "go":
		return goTarget{"linux", runtime.GOARCH, goBinaryName, ""}, true
	case "go-wasm":
		return goTarget{"wasip1", "wasm", wasmModuleName, ""}, true
	case "go-wasm-reactor":
		return goTarget{"wasip1", "wasm", wasmModuleName, "c-shared"}, true
	}
	return goTarget{}, false
}

// compileGo builds dir (a copy of a Go template with the handler inside)
// into dir/<target.out>: static (CGO_ENABLED=0), for the target, with paths, VCS stamps and build IDs left out so that the
// same source gives the same bytes.
func compileGo(ctx context.Context, dir, handlerFolder string, target goTarget, buildArgs map[string]string) (string, error) {
	if err := writeIfMissing(filepath.Join(dir, "go.mod"), rootGoMod); err != nil {
		return "", err
	}
	fnDir := filepath.Join(dir, handlerFolder)
	if err := writeIfMissing(filepath.Join(fnDir, "go.mod"), functionGoMod); err != nil {
		return "", err
	}
	// The handler's own go.sum lists its dependencies' hashes; the main
	// module needs them too.
	if sum, err := os.ReadFile(filepath.Join(fnDir, "go.sum")); err == nil {
		if err := writeIfMissing(filepath.Join(dir, "go.sum"), string(sum)); err != nil {
			return "", err
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
			goBin = p
		} else {
			return "", fmt.Errorf("go not found on PATH: install Go to build go and golang-http functions")
		}
	}
	out := filepath.Join(dir, target.out)
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", out}
	if target.buildmode != "" {
		args = append(args, "-buildmode="+target.buildmode)
	}
	cmd := exec.CommandContext(ctx, goBin, append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	// stack.yml build_args (e.g. GOPRIVATE, GOFLAGS) come next; the
	// target stays what the template says whatever they say.
	cmd.Env = appendBuildArgs(cmd.Env, buildArgs)
	cmd.Env = append(cmd.Env, "CGO_ENABLED=0", "GOOS="+target.goos, "GOARCH="+target.goarch)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build of the handler failed (fix the code and build again): %s", oneLine(buf.String(), err))
	}
	return out, nil
}

func writeIfMissing(p, content string) error {
	if fileExists(p) {
		return nil
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// oneLine joins a tool's output into one line for an error message.
func oneLine(out string, err error) string {
	s := strings.Join(strings.Fields(strings.ReplaceAll(out, "\n", "; ")), " ")
	if s == "" {
		return err.Error()
	}
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

// appendBuildArgs adds stack.yml's build_args to a compiler's
// environment, sorted so that the command is the same on every build.
func appendBuildArgs(env []string, buildArgs map[string]string) []string {
	for _, k := range slices.Sorted(maps.Keys(buildArgs)) {
		env = append(env, k+"="+buildArgs[k])
	}
	return env
}
