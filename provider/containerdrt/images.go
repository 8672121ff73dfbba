package containerdrt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/provider/containerd"
)

// MaxImportBytes bounds an image uploaded to POST /system/images.
const MaxImportBytes = 2 << 30

// PullIfMissing is a Pull hook: a function's image is pulled from its
// registry unless it was imported or pulled already, so that a deploy of
// an imported image needs no registry and a redeploy no network. The
// registry login comes from the secret named by PullSecretAnnotation,
// which secret reads.
func PullIfMissing(r *containerd.Runtime, secret func(namespace, name string) ([]byte, error)) func(ctx context.Context, d *api.FunctionDeployment) error {
	return func(ctx context.Context, d *api.FunctionDeployment) error {
		ok, err := r.HasImage(ctx, d.Image)
		if err != nil {
			return api.BadRequest("image: %w", err)
		}
		if ok {
			return nil
		}
		var auth *containerd.Auth
		if name := d.Annotations[PullSecretAnnotation]; name != "" {
			config, err := secret(d.Namespace, name)
			if err != nil {
				return api.BadRequest("annotations.%s: secret %q in namespace %q: %w", PullSecretAnnotation, name, d.Namespace, err)
			}
			if auth, err = authFor(d.Image, config); err != nil {
				return api.BadRequest("annotations.%s: secret %q: %w", PullSecretAnnotation, name, err)
			}
		}
		if err := r.Pull(ctx, d.Image, auth); err != nil {
			// The user's reference is wrong or its registry unreachable:
			// say so on the deploy rather than as a replica that never starts.
			return api.BadRequest("image %q is not imported and could not be pulled: %w (import it with POST /system/images or check the reference)", d.Image, err)
		}
		return nil
	}
}

// ImageRoutes are mounted behind auth by the gateway: importing an image
// without a registry (an OCI layout or docker archive tar, as `ferry build
// --image` writes).
func ImageRoutes(r *containerd.Runtime) map[string]http.Handler {
	return map[string]http.Handler{
		"POST /system/images": http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			refs, err := r.Import(req.Context(), http.MaxBytesReader(w, req.Body, MaxImportBytes))
			if err != nil {
				// A tar that containerd cannot read is the client's fault;
				// nothing of it is kept (Import's lease).
				var tooBig *http.MaxBytesError
				status := http.StatusBadRequest
				if errors.As(err, &tooBig) {
					status = http.StatusRequestEntityTooLarge
				}
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(status)
				fmt.Fprintf(w, "body: not an image archive containerd can import (send an OCI layout or docker archive tar, as `ferry build --image` writes): %v\n", err)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string][]string{"images": refs})
		}),
	}
}

// ImageGC removes, every interval until ctx ends, the images no function
// of p uses and that were not imported or pulled within grace, as the
// process runtime collects artifacts.
func ImageGC(ctx context.Context, r *containerd.Runtime, p provider.Provider, interval, grace time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		inUse, err := imagesInUse(ctx, p)
		if err == nil {
			err = r.RemoveUnusedImages(ctx, inUse, grace)
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("image gc failed", "err", err)
		}
	}
}

// imagesInUse lists the images of every function in every namespace.
func imagesInUse(ctx context.Context, p provider.Provider) ([]string, error) {
	nss, err := p.ListNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ns := range nss {
		fs, err := p.List(ctx, ns)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if strings.TrimSpace(f.Image) != "" {
				out = append(out, f.Image)
			}
		}
	}
	return out, nil
}
