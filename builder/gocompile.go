package builder

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
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

// goBinaryName is what compiled templates produce and run (fprocess ./handler).
const goBinaryName = "handler"

// compileGo builds dir (a copy of a Go template with the handler inside)
// into dir/handler: static (CGO_ENABLED=0), for linux on the host's
// architecture, with paths, VCS stamps and build IDs left out so that the
// same source gives the same bytes.
func compileGo(ctx context.Context, dir, handlerFolder string, buildArgs map[string]string) (string, error) {
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
	out := filepath.Join(dir, goBinaryName)
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	// stack.yml build_args (e.g. GOPRIVATE, GOFLAGS) come next, sorted so
	// the command is stable; the target stays static linux whatever they say.
	keys := make([]string, 0, len(buildArgs))
	for k := range buildArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+buildArgs[k])
	}
	cmd.Env = append(cmd.Env, "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
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
