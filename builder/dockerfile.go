package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ferryfaas/ferry/templates"
	"github.com/google/go-containerregistry/pkg/name"
)

// processOnlySteps are the Dockerfile instructions the process runtime
// cannot honour: it runs the handler folder as it is with its own
// watchdog, so FROM, COPY of the folder, ENV, USER, CMD... describe what
// it does anyway, but a RUN or an ADD (which fetches and unpacks) would
// change files it never sees.
var processOnlySteps = map[string]bool{"RUN": true, "ADD": true}

// checkProcessDockerfile refuses a handler Dockerfile with steps the process
// runtime would otherwise drop without a word.
func checkProcessDockerfile(handlerDir string) error {
	df, err := os.ReadFile(filepath.Join(handlerDir, "Dockerfile"))
	if err != nil {
		return nil // no Dockerfile: nothing to drop
	}
	for _, st := range templates.DockerfileSteps(df) {
		if processOnlySteps[st.Instruction] {
			return fmt.Errorf("Dockerfile line %d: %s cannot run on the process runtime, which runs the handler folder as it is: "+
				"deploy it to `ferry serve --runtime containerd` (ferry up builds the Dockerfile there with buildah), "+
				"build an image with `ferry build --image`, or move the step out of the Dockerfile", st.Line, st.Instruction)
		}
	}
	return nil
}

// errNoBuildah says what to install; Debian and Ubuntu ship buildah.
var errNoBuildah = errors.New("building a Dockerfile into an image needs buildah, which is not on PATH: install it (apt-get install buildah)")

// registriesConf resolves short names (FROM alpine:3.20) on Docker Hub as
// `docker build` does; Debian's own configuration resolves none.
const registriesConf = "unqualified-search-registries = [\"docker.io\"]\nshort-name-mode = \"permissive\"\n"

// dockerfileImage builds the Dockerfile of the build context ctxDir with
// buildah and writes (or pushes) the image as buildImage does. buildah gets
// a storage of its own for this build only (vfs: it works as root without
// overlay support, in a container too), removed afterwards, so that builds
// leave nothing behind and never touch another tool's images.
func dockerfileImage(ctx context.Context, o Options, ctxDir string, res *Result, outDir string, p *progress) error {
	fn := o.Function
	if _, err := os.Stat(filepath.Join(ctxDir, "Dockerfile")); err != nil {
		return fmt.Errorf("lang %s builds the handler's Dockerfile: add a Dockerfile to the handler folder", fn.Lang)
	}
	bin, err := exec.LookPath("buildah")
	if err != nil {
		return errNoBuildah
	}
	tag, err := imageTag(fn)
	if err != nil {
		return err
	}
	dest, out, err := imageDestination(o, tag, outDir)
	if err != nil {
		return err
	}

	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	if err := os.MkdirAll(filepath.Join(cache, "ferry", "buildah"), 0o700); err != nil {
		return err
	}
	store, err := os.MkdirTemp(filepath.Join(cache, "ferry", "buildah"), "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(store)
	conf := filepath.Join(store, "registries.conf")
	if err := os.WriteFile(conf, []byte(registriesConf), 0o600); err != nil {
		return err
	}
	buildah := func(args ...string) error {
		all := append([]string{"--storage-driver", "vfs", "--root", filepath.Join(store, "root"),
			"--runroot", filepath.Join(store, "run"), "--registries-conf", conf}, args...)
		cmd := exec.CommandContext(ctx, bin, all...)
		var tail tailBuffer
		w := io.MultiWriter(&tail, &lineWriter{p: p})
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("buildah %s: %v\n%s", args[0], err, tail.String())
		}
		return nil
	}

	local := "localhost/ferry-build/" + strings.ToLower(fn.Name) + ":latest"
	args := []string{"build", "--file", filepath.Join(ctxDir, "Dockerfile"), "--tag", local}
	if o.Image.Network != "" {
		args = append(args, "--network", o.Image.Network)
	}
	keys := make([]string, 0, len(fn.BuildArgs))
	for k := range fn.BuildArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--build-arg", k+"="+fn.BuildArgs[k])
	}
	p.say("buildah build (Dockerfile)")
	if err := buildah(append(args, ctxDir)...); err != nil {
		return err
	}
	digestFile := filepath.Join(store, "digest")
	for _, d := range dest {
		if err := buildah("push", "--digestfile", digestFile, local, d); err != nil {
			return err
		}
		p.say("buildah push %s", d)
	}
	dg, err := os.ReadFile(digestFile)
	if err != nil {
		return fmt.Errorf("buildah push wrote no digest: %v", err)
	}
	res.ImageDigest = strings.TrimSpace(string(dg))
	res.ImagePath = out
	p.say("image %s %s", tag.String(), res.ImageDigest)
	return nil
}

// imageDestination is where buildah pushes the image, as buildah transport
// names, and the file or folder written locally ("" when only pushed).
func imageDestination(o Options, tag name.Tag, outDir string) ([]string, string, error) {
	format, out := imageOutput(o, outDir)
	var dest []string
	if out != "" {
		if strings.Contains(out, ":") {
			return nil, "", fmt.Errorf("image output %s: buildah cannot write to a path with a colon", out)
		}
		if err := os.RemoveAll(out); err != nil {
			return nil, "", err
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, "", err
		}
		switch format {
		case "oci":
			dest = append(dest, "oci:"+out+":"+tag.String())
		case "docker":
			dest = append(dest, "docker-archive:"+out+":"+tag.String())
		default:
			return nil, "", fmt.Errorf("unknown image format %q: use oci or docker", format)
		}
	}
	if o.Image.Push {
		dest = append(dest, "docker://"+tag.String())
	}
	return dest, out, nil
}

// tailBuffer keeps the last few KiB of a tool's output for its error.
type tailBuffer struct{ b []byte }

const tailMax = 4 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = t.b[len(t.b)-tailMax:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.TrimSpace(t.b)) }

// lineWriter passes a tool's output on as progress lines.
type lineWriter struct {
	p   *progress
	buf []byte
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if line := strings.TrimSpace(string(l.buf[:i])); line != "" {
			l.p.say("  %s", line)
		}
		l.buf = l.buf[i+1:]
	}
}
