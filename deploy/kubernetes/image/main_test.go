package main

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The image holds both binaries, runs ferry serve as 65534, and is
// reproducible.
func TestBuild(t *testing.T) {
	dir := t.TempDir()
	fb, wb := filepath.Join(dir, "ferry"), filepath.Join(dir, "watchdog")
	os.WriteFile(fb, []byte("ferry-bin"), 0o755)
	os.WriteFile(wb, []byte("watchdog-bin"), 0o755)
	var digests []string
	for i := 0; i < 2; i++ {
		out := filepath.Join(dir, "img.tar")
		if err := build(fb, wb, DefaultTag, out, "docker"); err != nil {
			t.Fatal(err)
		}
		tag, _ := name.NewTag(DefaultTag)
		img, err := tarball.ImageFromPath(out, &tag)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests = append(digests, d.String())
		cf, _ := img.ConfigFile()
		if cf.Config.User != "65534:65534" || !slices.Equal(cf.Config.Entrypoint, []string{"/usr/bin/ferry-kubernetes"}) || cf.Config.Cmd[0] != "serve" {
			t.Fatalf("config: %+v", cf.Config)
		}
		files := map[string]*tar.Header{}
		tr := tar.NewReader(mutate.Extract(img))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			files[strings.TrimSuffix(h.Name, "/")] = h
		}
		for _, f := range []string{"usr/bin/ferry-kubernetes", "usr/bin/watchdog"} {
			if h := files[f]; h == nil || h.Mode&0o111 == 0 {
				t.Fatalf("%s missing or not executable: %+v", f, h)
			}
		}
		if h := files["data"]; h == nil || h.Uid != uid {
			t.Fatalf("/data not owned by %d: %+v", uid, h)
		}
	}
	if digests[0] != digests[1] {
		t.Fatalf("not reproducible: %v", digests)
	}
	if err := build(fb, wb, DefaultTag, filepath.Join(dir, "oci"), "oci"); err != nil {
		t.Fatal(err)
	}
}
