package builder

import (
	"context"
	"fmt"
	"runtime"

	"github.com/ferryfaas/ferry/templates"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// hostPlatform is the platform images are built for (Go functions are
// compiled for it too).
var hostPlatform = v1.Platform{OS: "linux", Architecture: runtime.GOARCH}

// baseImage is scratch for compiled templates and otherwise the template's
// base image, read from o.Image.BaseLayout or pulled from its registry.
func baseImage(ctx context.Context, o Options, tpl *templates.Template, p *progress) (v1.Image, error) {
	if tpl.Ferry.Compile != "" || (tpl.Ferry.BaseImage == "" && o.Image.BaseLayout == "") {
		p.say("base: scratch")
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		return mutate.ConfigMediaType(img, types.OCIConfigJSON), nil
	}
	if o.Image.BaseLayout != "" {
		p.say("base: OCI layout %s", o.Image.BaseLayout)
		idx, err := layout.ImageIndexFromPath(o.Image.BaseLayout)
		if err != nil {
			return nil, fmt.Errorf("base image layout %s: %v (pass a folder written as an OCI layout)", o.Image.BaseLayout, err)
		}
		img, err := pickImage(idx, tpl.Ferry.BaseImage)
		if err != nil {
			return nil, fmt.Errorf("base image layout %s: %w", o.Image.BaseLayout, err)
		}
		return img, nil
	}
	ref, err := name.ParseReference(tpl.Ferry.BaseImage)
	if err != nil {
		return nil, fmt.Errorf("template %s: bad base_image %q: %v", tpl.Language, tpl.Ferry.BaseImage, err)
	}
	p.say("base: pulling %s", ref.String())
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(hostPlatform),
		remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return nil, fmt.Errorf("pulling base image %s: %v (no registry reachable? pass --base-layout DIR holding it as an OCI layout)", ref.String(), err)
	}
	return img, nil
}

// pickImage finds the base in a layout: the manifest named want (by its
// ref.name annotation) if any, else the one for this platform, else the
// only one; nested indexes are searched too.
func pickImage(idx v1.ImageIndex, want string) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var named, forPlatform, only []v1.Descriptor
	for _, d := range im.Manifests {
		if want != "" && refMatches(d.Annotations, want) {
			named = append(named, d)
		}
		if d.Platform == nil || d.Platform.Satisfies(hostPlatform) {
			forPlatform = append(forPlatform, d)
		}
		only = append(only, d)
	}
	for _, list := range [][]v1.Descriptor{named, forPlatform} {
		if len(list) > 0 {
			return open(idx, list[0], want)
		}
	}
	if len(only) == 1 {
		return open(idx, only[0], want)
	}
	return nil, fmt.Errorf("no image for %s/%s among %d manifests", hostPlatform.OS, hostPlatform.Architecture, len(only))
}

func open(idx v1.ImageIndex, d v1.Descriptor, want string) (v1.Image, error) {
	if d.MediaType.IsIndex() {
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, err
		}
		return pickImage(child, want)
	}
	return idx.Image(d.Digest)
}

func refMatches(ann map[string]string, want string) bool {
	for _, k := range []string{"org.opencontainers.image.ref.name", "io.containerd.image.name"} {
		v := ann[k]
		if v == "" {
			continue
		}
		if v == want {
			return true
		}
		a, errA := name.ParseReference(v)
		b, errB := name.ParseReference(want)
		if errA == nil && errB == nil && a.Name() == b.Name() {
			return true
		}
	}
	return false
}
