package builder

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// pythonPackagesDir is where --install-deps puts a Python handler's
// requirements; the python shims add it to sys.path.
const pythonPackagesDir = ".python_packages"

// installDeps runs the language's package manager for a handler that lists
// dependencies, only when the user asked for it (Options.InstallDeps): a
// build is otherwise offline. Packages land inside the build context, so
// they ship in the artifact and the image.
func installDeps(ctx context.Context, fnDir string, p *progress) error {
	if req := filepath.Join(fnDir, "requirements.txt"); hasRequirements(req) {
		p.say("pip install -r requirements.txt")
		return runTool(ctx, fnDir, "pip install failed (check requirements.txt and the network)",
			"python3", "-m", "pip", "install", "--disable-pip-version-check", "--no-cache-dir",
			"--target", pythonPackagesDir, "-r", "requirements.txt")
	}
	if pkg := filepath.Join(fnDir, "package.json"); hasNodeDeps(pkg) {
		p.say("npm install --omit=dev")
		return runTool(ctx, fnDir, "npm install failed (check package.json and the network)",
			"npm", "install", "--omit=dev", "--no-audit", "--no-fund", "--no-package-lock")
	}
	return nil
}

// hasRequirements reports whether a requirements file names anything.
func hasRequirements(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			return true
		}
	}
	return false
}

// hasNodeDeps reports whether package.json has runtime dependencies.
func hasNodeDeps(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	return json.Unmarshal(b, &pkg) == nil && len(pkg.Dependencies) > 0
}

func runTool(ctx context.Context, dir, what string, name string, args ...string) error {
	if _, err := exec.LookPath(name); err != nil {
		return fmt.Errorf("%s: %s is not installed", what, name)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %s", what, oneLine(buf.String(), err))
	}
	return nil
}
