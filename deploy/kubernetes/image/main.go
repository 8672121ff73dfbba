// Command image builds the OCI image of Ferry itself without Docker: the
// static bin/ferry-kubernetes (ferry with the Kubernetes provider linked
// in) and bin/watchdog on an empty base, run as the
// unprivileged user 65534, written as a docker archive (or OCI layout) that
// `ctr images import` and registries accept. scripts/ferry-image.sh builds
// the binaries and calls it; the manifests in deploy/kubernetes use the
// default tag.
//
//	go run ./deploy/kubernetes/image -ferry bin/ferry-kubernetes -watchdog bin/watchdog -o ferry-image.tar
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// DefaultTag is the image the manifests in deploy/kubernetes run.
const DefaultTag = "ferry.local/ferry:dev"

const uid = 65534

// epoch makes the image reproducible: same binaries, same digest.
var epoch = time.Unix(0, 0).UTC()

func main() {
	ferry := flag.String("ferry", "bin/ferry-kubernetes", "static ferry-kubernetes binary (cmd/ferry-kubernetes)")
	watchdog := flag.String("watchdog", "bin/watchdog", "static watchdog binary")
	tag := flag.String("tag", DefaultTag, "image reference")
	out := flag.String("o", "ferry-image.tar", "output: a docker archive, or an OCI layout directory with -format oci")
	format := flag.String("format", "docker", "docker (archive tar) or oci (layout directory)")
	flag.Parse()
	if err := build(*ferry, *watchdog, *tag, *out, *format); err != nil {
		fmt.Fprintln(os.Stderr, "ferry image:", err)
		os.Exit(1)
	}
	fmt.Println(*tag, "->", *out)
}

func build(ferry, watchdog, ref, out, format string) error {
	files := []entry{
		{name: "etc/", dir: true},
		{name: "etc/passwd", data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/data:/sbin/nologin\n")},
		{name: "etc/group", data: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{name: "tmp/", dir: true, mode: 0o1777},
		{name: "data/", dir: true, owner: uid, mode: 0o700},
		{name: "usr/", dir: true},
		{name: "usr/bin/", dir: true},
	}
	for _, b := range []struct{ src, dst string }{{ferry, "usr/bin/ferry-kubernetes"}, {watchdog, "usr/bin/watchdog"}} {
		data, err := os.ReadFile(b.src)
		if err != nil {
			return fmt.Errorf("%w (build it first: scripts/build.sh)", err)
		}
		files = append(files, entry{name: b.dst, data: data, mode: 0o755})
	}
	layer, err := layerOf(files)
	if err != nil {
		return err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "ferry image: bin/ferry-kubernetes, bin/watchdog"}})
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: epoch}
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{
		Entrypoint:   []string{"/usr/bin/ferry-kubernetes"},
		Cmd:          []string{"serve", "--provider", "kubernetes", "--listen", "0.0.0.0:8080", "--data-dir", "/data"},
		User:         fmt.Sprintf("%d:%d", uid, uid),
		WorkingDir:   "/data",
		Env:          []string{"HOME=/data", "PATH=/usr/bin"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels:       map[string]string{"org.opencontainers.image.title": "ferry", "org.opencontainers.image.source": "https://github.com/ferryfaas/ferry"},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("tag %q: %w", ref, err)
	}
	switch format {
	case "docker":
		return tarball.WriteToFile(out, tag, img)
	case "oci":
		p, err := layout.Write(out, empty.Index)
		if err != nil {
			return err
		}
		return p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag.String()}))
	}
	return fmt.Errorf("format %q: use docker or oci", format)
}

type entry struct {
	name  string
	data  []byte
	dir   bool
	mode  int64
	owner int
}

// layerOf writes the entries as one uncompressed tar layer with fixed
// times, so the digest depends on the binaries only.
func layerOf(files []entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: epoch, Uid: f.owner, Gid: f.owner, Format: tar.FormatPAX}
		switch {
		case f.dir:
			h.Typeflag = tar.TypeDir
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}
