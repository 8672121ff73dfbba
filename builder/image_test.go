package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/stack"
	"github.com/ferryfaas/ferry/templates"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// scaffold lays out lang's default handler in a fresh stack folder.
func scaffold(t *testing.T, lang string) string {
	t.Helper()
	dir := t.TempDir()
	tpl, err := templates.Lookup("", lang)
	if err != nil {
		t.Fatal(err)
	}
	if err := templates.Scaffold(tpl, filepath.Join(dir, "fn")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func imageOpts(t *testing.T, dir, lang string, img ImageOptions) Options {
	img.Enabled = true
	return Options{
		Function:       stack.Function{Name: "fn", Lang: lang, Handler: "./fn", Image: "ferry-test/fn:1"},
		StackDir:       dir,
		OutDir:         t.TempDir(),
		Image:          img,
		WatchdogBinary: watchdogBin,
		Progress:       testWriter{t},
	}
}

// TestGoImageReproducible builds a golang-http image twice from separate
// copies of the source (other folders, other times) and expects the same
// artifact and image digests, then checks the image's config and files.
func TestGoImageReproducible(t *testing.T) {
	var digests, artifacts []string
	var last *Result
	for i := 0; i < 2; i++ {
		dir := scaffold(t, "golang-http")
		res, err := Build(context.Background(), imageOpts(t, dir, "golang-http", ImageOptions{Format: "oci"}))
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, res.ImageDigest)
		artifacts = append(artifacts, res.ArtifactDigest)
		last = res
	}
	if digests[0] != digests[1] || artifacts[0] != artifacts[1] {
		t.Fatalf("not reproducible: images %v, artifacts %v", digests, artifacts)
	}
	t.Logf("image digest %s (twice), artifact %s", digests[0], artifacts[0])

	idx, err := layout.ImageIndexFromPath(last.ImagePath)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].Digest.String() != last.ImageDigest {
		t.Fatalf("layout index %+v, want one manifest %s", im.Manifests, last.ImageDigest)
	}
	if got := im.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; !strings.Contains(got, "ferry-test/fn:1") {
		t.Fatalf("ref.name annotation %q", got)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf := checkConfig(t, img, "./handler", "http")
	for _, want := range []string{"upstream_url=http://127.0.0.1:8082", "upstream_port=8082"} {
		if !slices.Contains(cf.Config.Env, want) {
			t.Errorf("env %v lacks %s", cf.Config.Env, want)
		}
	}
	files := imageFiles(t, img)
	for _, want := range []string{"usr/bin/fwatchdog", "home/app/handler", "tmp/"} {
		if _, ok := files[want]; !ok {
			t.Errorf("image lacks %s (has %v)", want, keys(files))
		}
	}
	if h := files["home/app/handler"]; h.Uid != appUID || h.Mode&0o111 == 0 {
		t.Errorf("home/app/handler owner %d mode %o, want %d and executable", h.Uid, h.Mode, appUID)
	}
	if len(files) > 8 {
		t.Errorf("a Go image on scratch should hold only the watchdog and the binary, has %v", keys(files))
	}
}

// TestDockerArchive writes the docker-archive form and reads it back.
func TestDockerArchive(t *testing.T) {
	dir := scaffold(t, "go")
	o := imageOpts(t, dir, "go", ImageOptions{Format: "docker"})
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(res.ImagePath, ".tar") {
		t.Fatalf("image path %s", res.ImagePath)
	}
	tag, _ := name.NewTag("ferry-test/fn:1")
	img, err := tarball.ImageFromPath(res.ImagePath, &tag)
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, img, "./handler", "streaming")
}

// TestInterpretedImageOnLocalBase builds a python3-http image on a base
// image the test makes itself, read from an OCI layout.
func TestInterpretedImageOnLocalBase(t *testing.T) {
	baseDir := filepath.Join(t.TempDir(), "base")
	baseLayer, err := layerOf([]tarEntry{
		{name: "etc/", mode: 0o755, typ: tar.TypeDir},
		{name: "etc/base-release", mode: 0o644, typ: tar.TypeReg, content: []byte("ferry test base\n")},
	}, tarOwner{}, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	base, err := mutate.AppendLayers(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), baseLayer)
	if err != nil {
		t.Fatal(err)
	}
	base, err = mutate.Config(base, v1.Config{Env: []string{"PATH=/opt/python/bin:/usr/bin:/bin", "LANG=C.UTF-8"}})
	if err != nil {
		t.Fatal(err)
	}
	lp, err := layout.Write(baseDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(base, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": "docker.io/library/python:3.12-alpine"})); err != nil {
		t.Fatal(err)
	}

	dir := scaffold(t, "python3-http")
	var ds []string
	for i := 0; i < 2; i++ {
		res, err := Build(context.Background(), imageOpts(t, dir, "python3-http", ImageOptions{Format: "oci", BaseLayout: baseDir}))
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, res.ImageDigest)
		if i == 0 {
			idx, _ := layout.ImageIndexFromPath(res.ImagePath)
			im, _ := idx.IndexManifest()
			img, _ := idx.Image(im.Manifests[0].Digest)
			cf := checkConfig(t, img, "python3 index.py", "http")
			if !slices.Contains(cf.Config.Env, "LANG=C.UTF-8") || !slices.Contains(cf.Config.Env, "PATH=/opt/python/bin:/usr/bin:/bin") {
				t.Errorf("base env lost: %v", cf.Config.Env)
			}
			files := imageFiles(t, img)
			for _, want := range []string{"etc/base-release", "usr/bin/fwatchdog", "home/app/index.py", "home/app/function/handler.py"} {
				if _, ok := files[want]; !ok {
					t.Errorf("image lacks %s", want)
				}
			}
		}
	}
	if ds[0] != ds[1] {
		t.Fatalf("not reproducible: %v", ds)
	}
}

// TestPushToRegistry pushes to an in-process registry on 127.0.0.1 and
// pulls the image back by tag.
func TestPushToRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := scaffold(t, "go")
	o := imageOpts(t, dir, "go", ImageOptions{Push: true})
	o.Function.Image = host + "/ferry/fn:1"
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ImagePath != "" {
		t.Errorf("push alone wrote %s", res.ImagePath)
	}
	ref, _ := name.ParseReference(o.Function.Image)
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d.String() != res.ImageDigest {
		t.Fatalf("pulled %s, built %s", d, res.ImageDigest)
	}
}

func checkConfig(t *testing.T, img v1.Image, fprocess, mode string) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != "linux" || cf.Architecture == "" {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/bin/fwatchdog"}) || c.WorkingDir != "/home/app" || c.User != "65534:65534" {
		t.Errorf("entrypoint %v workdir %q user %q", c.Entrypoint, c.WorkingDir, c.User)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	for _, want := range []string{"fprocess=" + fprocess, "mode=" + mode, "port=8080"} {
		if !slices.Contains(c.Env, want) {
			t.Errorf("env %v lacks %s", c.Env, want)
		}
	}
	if !cf.Created.Time.Equal(epoch) {
		t.Errorf("created %v, want the epoch", cf.Created)
	}
	return cf
}

// imageFiles lists the files of all layers of img.
func imageFiles(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*tar.Header{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		tr := tar.NewReader(bytes.NewReader(b))
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			out[h.Name] = h
		}
	}
	return out
}

func keys(m map[string]*tar.Header) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestBaseImagePulledFromRegistry: a template whose base_image lives in a
// registry (in-process, on 127.0.0.1) is pulled when no layout is given.
func TestBaseImagePulledFromRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	baseLayer, err := layerOf([]tarEntry{{name: "etc/", mode: 0o755, typ: tar.TypeDir},
		{name: "etc/pulled", mode: 0o644, typ: tar.TypeReg, content: []byte("yes\n")}}, tarOwner{}, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	base, err := mutate.AppendLayers(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), baseLayer)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host + "/base/sh:1")
	if err := remote.Write(ref, base); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"template/shell/template.yml":    "language: shell\nfprocess: sh function/run.sh\nferry:\n  mode: streaming\n  base_image: " + host + "/base/sh:1\n",
		"template/shell/function/run.sh": "cat\n",
		"fn/run.sh":                      "cat\n",
	})
	o := imageOpts(t, dir, "shell", ImageOptions{Format: "oci"})
	o.TemplatesDir = dir
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := layout.ImageIndexFromPath(res.ImagePath)
	im, _ := idx.IndexManifest()
	img, _ := idx.Image(im.Manifests[0].Digest)
	if _, ok := imageFiles(t, img)["etc/pulled"]; !ok {
		t.Fatal("the pulled base layer is missing")
	}
	checkConfig(t, img, "sh function/run.sh", "streaming")
}
