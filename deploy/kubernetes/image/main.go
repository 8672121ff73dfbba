// Command image builds the OCI images of the Ferry platform without
// Docker, each on an empty base, run as the unprivileged user 65534 with
// nothing writable but its data dir, written as a docker archive (or OCI
// layout) that `ctr images import` and registries accept:
//
//   - ferry: the static bin/ferry-kubernetes (ferry with the Kubernetes
//     provider linked in) and bin/watchdog;
//   - nats: a static nats-server built from its Go module (JetStream);
//   - prometheus, alertmanager: Debian's binaries with the C library they
//     are linked against (found with ldd), so no rebuild is needed.
//
// Same inputs, same digest: every file time is the epoch. scripts/ferry-image.sh
// and scripts/platform-images.sh call it; the chart and deploy/kubernetes
// use the default tags.
//
//	go run ./deploy/kubernetes/image -ferry bin/ferry-kubernetes -watchdog bin/watchdog -o ferry-image.tar
//	go run ./deploy/kubernetes/image -component nats -bin nats-server -tag ferry.local/nats:v2.15.3 -o nats.tar
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
	component := flag.String("component", "ferry", "image to build: ferry, nats, prometheus or alertmanager")
	ferry := flag.String("ferry", "bin/ferry-kubernetes", "ferry: static ferry-kubernetes binary (cmd/ferry-kubernetes)")
	watchdog := flag.String("watchdog", "bin/watchdog", "ferry: static watchdog binary")
	bin := flag.String("bin", "", "nats, prometheus, alertmanager: the server binary (default: nats-server on PATH, /usr/bin/prometheus, /usr/bin/prometheus-alertmanager)")
	tag := flag.String("tag", "", "image reference (default: ferry.local/COMPONENT:dev)")
	out := flag.String("o", "", "output: a docker archive, or an OCI layout directory with -format oci (default COMPONENT-image.tar)")
	format := flag.String("format", "docker", "docker (archive tar) or oci (layout directory)")
	flag.Parse()
	if *tag == "" {
		*tag = "ferry.local/" + *component + ":dev"
	}
	if *out == "" {
		*out = *component + "-image.tar"
	}
	sp, err := specFor(*component, *ferry, *watchdog, *bin)
	if err == nil {
		err = build(sp, *tag, *out, *format)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferry image:", err)
		os.Exit(1)
	}
	fmt.Println(*tag, "->", *out)
}

func build(sp spec, ref, out, format string) error {
	files := []entry{
		{name: "etc/", dir: true},
		{name: "etc/passwd", data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:" + sp.data + ":/sbin/nologin\n")},
		{name: "etc/group", data: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{name: "tmp/", dir: true, mode: 0o1777},
		{name: sp.data[1:] + "/", dir: true, owner: uid, mode: 0o700},
	}
	made := map[string]bool{}
	for _, f := range files {
		made[f.name] = true
	}
	for _, b := range sp.files {
		data, err := os.ReadFile(b.src)
		if err != nil {
			return fmt.Errorf("%w (%s)", err, sp.hint)
		}
		for _, d := range parents(b.dst) {
			if !made[d] {
				made[d] = true
				files = append(files, entry{name: d, dir: true})
			}
		}
		mode := int64(0o755)
		if b.data {
			mode = 0o644
		}
		files = append(files, entry{name: b.dst, data: data, mode: mode})
	}
	layer, err := layerOf(files)
	if err != nil {
		return err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "ferry image: " + sp.title}})
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
	ports := map[string]struct{}{}
	for _, p := range sp.ports {
		ports[p] = struct{}{}
	}
	cf.Config = v1.Config{
		Entrypoint:   sp.entrypoint,
		Cmd:          sp.cmd,
		User:         fmt.Sprintf("%d:%d", uid, uid),
		WorkingDir:   sp.data,
		Env:          []string{"HOME=" + sp.data, "PATH=/usr/bin"},
		ExposedPorts: ports,
		Labels:       map[string]string{"org.opencontainers.image.title": sp.title, "org.opencontainers.image.source": "https://github.com/ferryfaas/ferry"},
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
