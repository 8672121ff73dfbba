package harness

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"runtime"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// busybox is Debian's busybox-static: one static binary that is a shell
// and the usual tools, so a base image needs no registry.
const busybox = "/bin/busybox"

// RequireBuildah skips the test unless it runs as root with Debian's
// buildah and busybox-static installed.
func RequireBuildah(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: buildah runs RUN steps with runc")
	}
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Skip("buildah is not installed: run scripts/install-deps.sh (buildah)")
	}
	if out, err := exec.Command("file", "-L", busybox).Output(); err != nil || !bytes.Contains(out, []byte("statically linked")) {
		t.Skip("busybox-static is not installed: run scripts/install-deps.sh (busybox-static)")
	}
}

// BusyboxBase writes an OCI layout holding an image named ref: busybox as
// /bin/sh and its tools, plus the files given (path in the image -> file
// on this machine, e.g. the watchdog at usr/bin/fwatchdog). It returns the
// layout's folder, which a Dockerfile names as `FROM oci:DIR:REF` (in
// lower case, as buildah wants it: t.TempDir's names are not).
func BusyboxBase(t testing.TB, ref string, files map[string]string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ferry-base-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body []byte) {
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"bin/", "tmp/", "usr/", "usr/bin/", "home/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		add(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: mode}, nil)
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, bb)
	for _, tool := range []string{"sh", "mkdir", "echo", "cat", "ls", "id"} {
		add(&tar.Header{Name: "bin/" + tool, Typeflag: tar.TypeSymlink, Linkname: "busybox"}, nil)
	}
	for at, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		add(&tar.Header{Name: at, Typeflag: tar.TypeReg, Mode: 0o755}, b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{Env: []string{"PATH=/usr/bin:/bin"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		t.Fatal(err)
	}
	return dir
}
