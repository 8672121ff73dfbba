package cli

import (
	"github.com/ferryfaas/ferry/test/harness"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	ggcrremote "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestBuildImageAndPush: `ferry build --image --format docker` writes an
// archive and `--push` sends the same image to a registry (in-process, on
// 127.0.0.1): same printed digest, same image ID.
func TestBuildImageAndPush(t *testing.T) {
	wd, err := harness.GoBinary("watchdog", "./cmd/watchdog")
	if err != nil {
		t.Fatalf("building the watchdog: %v", err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	t.Chdir(t.TempDir())
	runCLI(t, "", "new", "img", "--lang", "go", "--prefix", host+"/team", "-q").must(t)
	r := runCLI(t, "", "build", "--image", "--format", "docker", "--watchdog", wd).must(t)
	digest := lineField(t, r.stdout, "img: image ")
	tag, _ := name.NewTag(host + "/team/img:latest")
	img, err := tarball.ImageFromPath("build/img-image.tar", &tag)
	if err != nil {
		t.Fatal(err)
	}
	// A docker archive keeps no manifest (the loader writes its own), so
	// the image ID (config digest) is what must match across outputs.
	archiveID, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "", "build", "--push", "--watchdog", wd).must(t)
	if got := lineField(t, r.stdout, "img: image "); got != digest {
		t.Fatalf("push build printed %s, first build %s: not reproducible", got, digest)
	}
	pulled, err := ggcrremote.Image(tag)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := pulled.Digest(); d.String() != digest {
		t.Fatalf("registry has %s, built %s", d, digest)
	}
	if id, _ := pulled.ConfigName(); id != archiveID {
		t.Fatalf("pushed image ID %s, archive's %s", id, archiveID)
	}
}

// lineField returns the "(sha256:...)" digest on the line starting with prefix.
func lineField(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			if i := strings.LastIndex(l, "(sha256:"); i >= 0 {
				return strings.TrimSuffix(l[i+1:], ")")
			}
		}
	}
	t.Fatalf("no %q line with a digest in:\n%s", prefix, out)
	return ""
}
