package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ferryfaas/ferry/stack"
	"github.com/ferryfaas/ferry/templates"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image layout: the contract's paths, so the image also runs under
// OpenFaaS's own orchestrators.
const (
	watchdogPath = "usr/bin/fwatchdog"
	appDir       = "home/app/"
	// appUID owns /home/app and runs the function: "nobody", which exists
	// in most base images and needs no /etc/passwd on scratch (numeric).
	appUID = 65534
)

// defaultPath is set when the base image (scratch) has no PATH.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// buildImage assembles base + watchdog layer + function layer, writes it
// as an OCI layout or docker archive and/or pushes it.
func buildImage(ctx context.Context, o Options, tpl *templates.Template, entries []tarEntry, res *Result, outDir string, p *progress) error {
	fn := o.Function
	if o.WatchdogBinary == "" {
		wd, err := FindWatchdog()
		if err != nil {
			return err
		}
		o.WatchdogBinary = wd
	}
	wd, err := os.Stat(o.WatchdogBinary)
	if err != nil || !wd.Mode().IsRegular() {
		return fmt.Errorf("watchdog binary %s not found: build it with scripts/build.sh or pass --watchdog PATH", o.WatchdogBinary)
	}
	tag, err := imageTag(fn)
	if err != nil {
		return err
	}

	base, err := baseImage(ctx, o, tpl, p)
	if err != nil {
		return err
	}
	mt, err := base.MediaType()
	if err != nil {
		return fmt.Errorf("base image: %w", err)
	}
	layerType := types.OCILayer
	if mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}

	wdLayer, err := watchdogLayer(o.WatchdogBinary, layerType)
	if err != nil {
		return fmt.Errorf("watchdog layer: %w", err)
	}
	fnEntries := []tarEntry{{name: appDir, mode: 0o755, typ: tar.TypeDir}}
	for _, e := range entries {
		e.name = appDir + e.name
		fnEntries = append(fnEntries, e)
	}
	// /home is root's; /home/app and everything in it is the app user's
	// so the function may write beside its code (e.g. __pycache__).
	homeLayer, err := layerOf(parentDirs("home/", 0o755), tarOwner{}, layerType)
	if err != nil {
		return err
	}
	fnLayer, err := layerOf(fnEntries, tarOwner{uid: appUID, gid: appUID}, layerType)
	if err != nil {
		return fmt.Errorf("function layer: %w", err)
	}
	img, err := mutate.Append(base,
		mutate.Addendum{Layer: wdLayer, MediaType: layerType, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "ferry build: watchdog " + "/" + watchdogPath}},
		mutate.Addendum{Layer: homeLayer, MediaType: layerType, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "ferry build: /home"}},
		mutate.Addendum{Layer: fnLayer, MediaType: layerType, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "ferry build: function " + fn.Name + " (" + fn.Lang + ")"}},
	)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: epoch}
	if cf.OS == "" {
		cf.OS = "linux"
	}
	if cf.Architecture == "" {
		cf.Architecture = runtime.GOARCH
	}
	cf.Config.Env = imageEnv(cf.Config.Env, res, tpl.Ferry.UpstreamPort)
	cf.Config.WorkingDir = "/" + strings.TrimSuffix(appDir, "/")
	cf.Config.User = fmt.Sprintf("%d:%d", appUID, appUID)
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	cf.Config.Entrypoint = []string{"/" + watchdogPath}
	cf.Config.Cmd = nil
	cf.Config.Healthcheck = nil
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	cf.Config.Labels["com.openfaas.function"] = fn.Name
	cf.Config.Labels["ferry.lang"] = fn.Lang
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	dg, err := img.Digest()
	if err != nil {
		return err
	}
	res.ImageDigest = dg.String()
	p.say("image %s %s", tag.String(), res.ImageDigest)

	format, out := imageOutput(o, outDir)
	if out != "" {
		switch format {
		case "oci":
			if err := writeLayout(out, img, tag); err != nil {
				return fmt.Errorf("writing OCI layout %s: %w", out, err)
			}
		case "docker":
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			if err := tarball.WriteToFile(out, tag, img); err != nil {
				return fmt.Errorf("writing docker archive %s: %w", out, err)
			}
		default:
			return fmt.Errorf("unknown image format %q: use oci or docker", format)
		}
		res.ImagePath = out
		p.say("wrote %s image %s", format, out)
	}
	if o.Image.Push {
		p.say("pushing %s", tag.String())
		if err := remote.Write(tag, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("push %s: %v (check the registry address and `docker login` credentials)", tag.String(), err)
		}
		p.say("pushed %s@%s", tag.String(), res.ImageDigest)
	}
	return nil
}

// imageOutput is the image's format and the file or folder it is written
// to: --output, else OutDir/<fn>-image(.tar), else "" when only pushed.
func imageOutput(o Options, outDir string) (format, out string) {
	format = o.Image.Format
	if format == "" {
		format = "oci"
	}
	out = o.Image.Output
	if out == "" && !o.Image.Push {
		out = filepath.Join(outDir, o.Function.Name+"-image")
		if format == "docker" {
			out += ".tar"
		}
	}
	return format, out
}

// imageEnv is the base image's environment with the watchdog's settings
// on top (an http shim's default port as upstream_url and upstream_port:
// one replica per container), sorted so the config is stable.
func imageEnv(base []string, res *Result, upstreamPort int) []string {
	env := map[string]string{}
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = strings.TrimPrefix(defaultPath, "PATH=")
	}
	for k, v := range res.EnvVars {
		env[k] = v
	}
	if res.EnvVars["mode"] == "http" && res.EnvVars["upstream_url"] == "" && upstreamPort != 0 {
		port := strconv.Itoa(upstreamPort)
		env["upstream_url"] = "http://127.0.0.1:" + port
		env["upstream_port"] = port
	}
	env["fprocess"] = res.EnvProcess
	env["port"] = "8080"
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// layerOf makes an image layer of entries from reproducible gzip'd bytes.
func layerOf(entries []tarEntry, owner tarOwner, mt types.MediaType) (v1.Layer, error) {
	var buf bytes.Buffer
	if err := writeTarGz(&buf, entries, owner); err != nil {
		return nil, err
	}
	return layerFromBytes(buf.Bytes(), mt)
}

// writeLayout replaces out with an OCI layout holding img, named by the
// annotation containerd and skopeo read.
func writeLayout(out string, img v1.Image, tag name.Tag) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	lp, err := layout.Write(out, empty.Index)
	if err != nil {
		return err
	}
	return lp.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag.String(),
		"io.containerd.image.name":          tag.String(),
	}))
}

// watchdogLayers caches the compressed watchdog layer by the binary's
// digest: one `ferry build` of many functions compresses it once.
var watchdogLayers sync.Map // string -> v1.Layer

func watchdogLayer(bin string, mt types.MediaType) (v1.Layer, error) {
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%x %s", sha256.Sum256(b), mt)
	if l, ok := watchdogLayers.Load(key); ok {
		return l.(v1.Layer), nil
	}
	var buf bytes.Buffer
	entries := append(parentDirs("usr/bin/", 0o755),
		tarEntry{name: "tmp/", mode: 0o1777, typ: tar.TypeDir},
		tarEntry{name: watchdogPath, content: b, mode: 0o755, typ: tar.TypeReg})
	if err := writeTarGz(&buf, entries, tarOwner{}); err != nil {
		return nil, err
	}
	l, err := layerFromBytes(buf.Bytes(), mt)
	if err != nil {
		return nil, err
	}
	watchdogLayers.Store(key, l)
	return l, nil
}

func layerFromBytes(gz []byte, mt types.MediaType) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz)), nil
	}, tarball.WithMediaType(mt))
}

// imageTag is the image a function's build is named: stack.yml's image,
// else NAME:latest.
func imageTag(fn stack.Function) (name.Tag, error) {
	ref := fn.Image
	if ref == "" {
		ref = fn.Name + ":latest"
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return name.Tag{}, fmt.Errorf("bad image name %q: fix `image:` in stack.yml (%v)", ref, err)
	}
	return tag, nil
}
