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
	v1 "github.com/google/go-containerregistry/pkg/v1"
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
		if err := build(ferrySpec(fb, wb), DefaultTag, out, "docker"); err != nil {
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
		files := imageFiles(t, img)
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
	if err := build(ferrySpec(fb, wb), DefaultTag, filepath.Join(dir, "oci"), "oci"); err != nil {
		t.Fatal(err)
	}
}

func ferrySpec(ferry, watchdog string) spec {
	sp, _ := specFor("ferry", ferry, watchdog, "")
	return sp
}

// Debian's Prometheus and Alertmanager are linked against libc: their
// images carry the libraries ldd names, at the loader's paths, and run as
// 65534 with every writable path under /data; Alertmanager's carries the
// notification templates Debian's build reads from disk.
func TestDebianServerImages(t *testing.T) {
	for _, c := range []struct{ component, bin, entry string }{
		{"prometheus", "/usr/bin/prometheus", "/usr/bin/prometheus"},
		{"alertmanager", "/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager"},
	} {
		if _, err := os.Stat(c.bin); err != nil {
			t.Skipf("%s not installed (scripts/install-deps.sh)", c.bin)
		}
		sp, err := specFor(c.component, "", "", "")
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "img.tar")
		if err := build(sp, "ferry.local/"+c.component+":test", out, "docker"); err != nil {
			t.Fatal(err)
		}
		tag, _ := name.NewTag("ferry.local/" + c.component + ":test")
		img, err := tarball.ImageFromPath(out, &tag)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		if cf.Config.User != "65534:65534" || cf.Config.Entrypoint[0] != c.entry || !strings.Contains(strings.Join(cf.Config.Cmd, " "), "=/data") {
			t.Fatalf("%s config: %+v", c.component, cf.Config)
		}
		files := imageFiles(t, img)
		libs, _ := sharedLibs(c.bin)
		if c.component == "alertmanager" {
			libs = append(libs, file{dst: "usr/share/prometheus/alertmanager/default.tmpl"})
		}
		for _, l := range libs {
			if files[l.dst] == nil {
				t.Fatalf("%s image lacks %s (ldd names it)", c.component, l.dst)
			}
		}
	}
}

func TestUnknownComponent(t *testing.T) {
	if _, err := specFor("redis", "", "", ""); err == nil || !strings.Contains(err.Error(), "redis") {
		t.Fatalf("want an error naming the component, got %v", err)
	}
}

// imageFiles lists an image's files by path (no trailing slash on dirs).
func imageFiles(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	files := map[string]*tar.Header{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = h
	}
}
