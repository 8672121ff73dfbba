package builder

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/test/harness"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// dockerfileHandler writes a dockerfile-template handler whose Dockerfile
// is df, in a fresh stack folder.
func dockerfileHandler(t *testing.T, df string) string {
	t.Helper()
	dir := scaffold(t, "dockerfile")
	if err := os.WriteFile(filepath.Join(dir, "fn", "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A RUN step the process runtime would skip is an error that says where
// the Dockerfile can run, not a silently different function.
func TestDockerfileRunRefusedWithoutImage(t *testing.T) {
	dir := dockerfileHandler(t, "FROM alpine:3.20\nWORKDIR /home/app\nCOPY . .\n\nRUN apk add \\\n  figlet\nENV fprocess=\"figlet\"\n")
	o := imageOpts(t, dir, "dockerfile", ImageOptions{})
	o.Image.Enabled = false
	_, err := Build(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "line 5: RUN") || !strings.Contains(err.Error(), "--runtime containerd") {
		t.Fatalf("Build of a Dockerfile with RUN for the process runtime: %v; want an error naming line 5 and --runtime containerd", err)
	}
	// The same for ferry up --push to the process runtime: an image is
	// built, but the artifact still runs without the step.
	o.Image = ImageOptions{Enabled: true, Push: true}
	o.ProcessArtifact = true
	if _, err := Build(context.Background(), o); err == nil || !strings.Contains(err.Error(), "RUN") {
		t.Fatalf("Build with ProcessArtifact: %v; want the RUN refused", err)
	}
	// The template's own Dockerfile (no RUN) still builds an artifact.
	o = imageOpts(t, scaffold(t, "dockerfile"), "dockerfile", ImageOptions{})
	o.Image.Enabled = false
	if _, err := Build(context.Background(), o); err != nil {
		t.Fatalf("the default dockerfile handler: %v", err)
	}
}

// Without buildah on PATH, an image of a Dockerfile fails saying what to
// install.
func TestDockerfileImageWithoutBuildah(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	dir := dockerfileHandler(t, "FROM scratch\nRUN true\n")
	_, err := Build(context.Background(), imageOpts(t, dir, "dockerfile", ImageOptions{Format: "oci"}))
	if err == nil || !strings.Contains(err.Error(), "apt-get install buildah") {
		t.Fatalf("image without buildah: %v; want an error saying apt-get install buildah", err)
	}
}

// buildah runs every step of the handler's Dockerfile, offline, from a
// base made here; the OCI layout holds what RUN wrote, and the storage
// buildah used is gone afterwards.
func TestDockerfileImageWithBuildah(t *testing.T) {
	harness.RequireBuildah(t)
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	base := harness.BusyboxBase(t, "ferry-test/busybox:1", nil)
	dir := dockerfileHandler(t, "FROM oci:"+base+":ferry-test/busybox:1\n"+
		"WORKDIR /home/app\nCOPY . .\nARG WHO\nRUN echo \"ran for $WHO\" > /home/app/built.txt\n"+
		"ENV fprocess=\"cat built.txt\"\nCMD [\"fwatchdog\"]\n")
	o := imageOpts(t, dir, "dockerfile", ImageOptions{Format: "oci", Network: "none"})
	o.Function.BuildArgs = map[string]string{"WHO": "ferry"}
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(res.ImagePath)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("layout index: %v %+v", err, im)
	}
	if got := im.Manifests[0].Digest.String(); got != res.ImageDigest {
		t.Errorf("digest %s, layout holds %s", res.ImageDigest, got)
	}
	if n := im.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; n != "ferry-test/fn:1" {
		t.Errorf("layout names the image %q, want ferry-test/fn:1", n)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if got := fileIn(t, img, "home/app/built.txt"); got != "ran for ferry\n" {
		t.Errorf("built.txt = %q: the RUN step did not happen with its build arg", got)
	}
	if files := imageFiles(t, img); files["home/app/Dockerfile"] == nil {
		t.Errorf("COPY . . did not copy the handler: %v", keys(files))
	}
	left, _ := filepath.Glob(filepath.Join(cache, "ferry", "buildah", "*"))
	if len(left) > 0 {
		t.Errorf("buildah storage left behind: %v", left)
	}
}

// fileIn is the content of path in the image's last layer holding it.
func fileIn(t *testing.T, img v1.Image, path string) string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if strings.TrimPrefix(h.Name, "./") == path {
				b, _ := io.ReadAll(tr)
				got = string(b)
			}
		}
		rc.Close()
	}
	return got
}
