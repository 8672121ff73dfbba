package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	ctd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
)

// Auth is a registry login (from a registry secret).
type Auth struct {
	Username, Password string
}

// normalize turns "acme/fn:1" into "docker.io/acme/fn:1", containerd's
// spelling, so that a user's reference finds an imported image.
func normalize(ref string) (string, error) {
	n, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	return n.String(), nil
}

// image finds an image and makes sure its layers are unpacked.
func (r *Runtime) image(ctx context.Context, ref string) (ctd.Image, error) {
	name, err := normalize(ref)
	if err != nil {
		return nil, err
	}
	img, err := r.client.GetImage(ctx, name)
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("image %s is not in containerd namespace %s: import or pull it first", name, r.cfg.Namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	// Checking costs a few RPCs per start: remember what was unpacked
	// (RemoveUnusedImages forgets it).
	key := img.Target().Digest
	if _, ok := r.unpacked.Load(key); ok {
		return img, nil
	}
	ok, err := img.IsUnpacked(ctx, r.cfg.Snapshotter)
	if err == nil && !ok {
		err = img.Unpack(ctx, r.cfg.Snapshotter)
	}
	if err != nil {
		return nil, fmt.Errorf("unpack image %s: %w", name, err)
	}
	r.unpacked.Store(key, true)
	return img, nil
}

// Import reads an OCI layout tar or a docker archive (what `ferry build
// --image` writes) and returns the references it created, unpacked. On
// error no image is created; content already written is unreferenced and
// containerd's garbage collector removes it.
func (r *Runtime) Import(ctx context.Context, in io.Reader) ([]string, error) {
	ctx, done, err := r.lease(r.ns(ctx))
	if err != nil {
		return nil, err
	}
	defer done()
	imgs, err := r.client.Import(ctx, in, ctd.WithImageRefTranslator(func(s string) string {
		if n, err := normalize(s); err == nil {
			return n
		}
		return s
	}))
	if err != nil {
		return nil, fmt.Errorf("import image: %w", err)
	}
	if len(imgs) == 0 {
		return nil, errors.New("import image: the archive names no image (tag it, or annotate org.opencontainers.image.ref.name)")
	}
	if imgs, err = r.renameNormalized(ctx, imgs); err != nil {
		return nil, err
	}
	var refs []string
	for _, i := range imgs {
		img := ctd.NewImage(r.client, i)
		if err := img.Unpack(ctx, r.cfg.Snapshotter); err != nil {
			for _, i := range imgs {
				r.client.ImageService().Delete(ctx, i.Name)
			}
			return nil, fmt.Errorf("unpack image %s: %w", i.Name, err)
		}
		refs = append(refs, i.Name)
	}
	return refs, nil
}

// renameNormalized gives imported images containerd's spelling of their
// names: an archive may carry "acme/fn:1" as a containerd image name,
// which the ref translator does not see.
func (r *Runtime) renameNormalized(ctx context.Context, imgs []images.Image) ([]images.Image, error) {
	is := r.client.ImageService()
	out := imgs[:0:0]
	for _, i := range imgs {
		n, err := normalize(i.Name)
		if err != nil || n == i.Name {
			out = append(out, i)
			continue
		}
		old := i.Name
		i.Name = n
		img, err := is.Update(ctx, i, "target")
		if errdefs.IsNotFound(err) {
			img, err = is.Create(ctx, i)
		}
		if err != nil {
			return nil, fmt.Errorf("import image: naming %s: %w", n, err)
		}
		if err := is.Delete(ctx, old); err != nil && !errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("import image: %w", err)
		}
		out = append(out, img)
	}
	return out, nil
}

// lease holds what an import or pull writes until it is done; ending it
// collects at once whatever no image references (a failed import's blobs),
// rather than at containerd's next scheduled collection.
func (r *Runtime) lease(ctx context.Context) (context.Context, func(), error) {
	ls := r.client.LeasesService()
	l, err := ls.Create(ctx, leases.WithRandomID(), leases.WithExpiration(time.Hour))
	if err != nil {
		return nil, nil, fmt.Errorf("containerd lease: %w", err)
	}
	return leases.WithLease(ctx, l.ID), func() {
		ls.Delete(context.WithoutCancel(ctx), l, leases.SynchronousDelete)
	}, nil
}

// Pull fetches and unpacks an image from its registry. Registries on
// loopback and those listed in InsecureRegistries are spoken to in plain
// HTTP, as Docker does.
func (r *Runtime) Pull(ctx context.Context, ref string, auth *Auth) error {
	ctx, done, err := r.lease(r.ns(ctx))
	if err != nil {
		return err
	}
	defer done()
	name, err := normalize(ref)
	if err != nil {
		return err
	}
	var aopts []docker.AuthorizerOpt
	if auth != nil {
		aopts = append(aopts, docker.WithAuthCreds(func(string) (string, string, error) {
			return auth.Username, auth.Password, nil
		}))
	}
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: docker.ConfigureDefaultRegistries(
		docker.WithPlainHTTP(func(h string) (bool, error) { return r.plainHTTP(h), nil }),
		docker.WithAuthorizer(docker.NewDockerAuthorizer(aopts...)),
	)})
	if _, err := r.client.Pull(ctx, name, ctd.WithResolver(resolver), ctd.WithPullUnpack, ctd.WithPullSnapshotter(r.cfg.Snapshotter)); err != nil {
		return fmt.Errorf("pull %s: %w", name, err)
	}
	return nil
}

// plainHTTP says whether a registry host may be spoken to without TLS.
func (r *Runtime) plainHTTP(host string) bool {
	if slices.Contains(r.cfg.InsecureRegistries, host) {
		return true
	}
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if slices.Contains(r.cfg.InsecureRegistries, h) || h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// HasImage reports whether ref is in the runtime's namespace (not whether
// it is unpacked: Start unpacks what is missing).
func (r *Runtime) HasImage(ctx context.Context, ref string) (bool, error) {
	name, err := normalize(ref)
	if err != nil {
		return false, err
	}
	_, err = r.client.ImageService().Get(r.ns(ctx), name)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// RemoveUnusedImages deletes the images neither in inUse nor used by a
// container nor imported or pulled within grace (a client imports first
// and deploys after); containerd then collects their content and layers.
func (r *Runtime) RemoveUnusedImages(ctx context.Context, inUse []string, grace time.Duration) error {
	ctx = r.ns(ctx)
	keep := map[string]bool{}
	for _, ref := range inUse {
		if n, err := normalize(ref); err == nil {
			keep[n] = true
		}
	}
	cs, err := r.client.Containers(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if info, err := c.Info(ctx); err == nil {
			keep[info.Image] = true
		}
	}
	list, err := r.client.ImageService().List(ctx)
	if err != nil {
		return err
	}
	r.unpacked.Clear()
	var errs []error
	for _, i := range list {
		if keep[i.Name] || strings.HasPrefix(i.Name, "sha256:") && keep[i.Target.Digest.String()] ||
			time.Since(i.UpdatedAt) < grace {
			continue
		}
		if err := r.client.ImageService().Delete(ctx, i.Name, images.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
