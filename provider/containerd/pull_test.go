package containerd

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// A registry on loopback is pulled from over plain HTTP without any
// setting, with the credentials of a registry secret when it asks for
// them; a missing tag and wrong credentials give errors naming the image.
func TestPullFromLoopbackRegistry(t *testing.T) {
	e := newEnv(t, 98)
	const user, pass = "ferry", "s3cret"
	host := harness.PrivateRegistry(t, user, pass)
	if h, _, _ := net.SplitHostPort(host); h != "127.0.0.1" {
		t.Fatalf("test registry on %s, not loopback", host)
	}
	img, err := tarball.ImageFromPath(probeImage(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/acme/probe:1"
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.rt.Pull(ctx, ref, &Auth{Username: user, Password: "wrong"}); err == nil || !strings.Contains(err.Error(), "pull "+ref) {
		t.Fatalf("pull with wrong credentials: %v", err)
	}
	if err := e.rt.Pull(ctx, host+"/acme/probe:2", &Auth{Username: user, Password: pass}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("pull of a missing tag: %v", err)
	}
	if err := e.rt.Pull(ctx, ref, &Auth{Username: user, Password: pass}); err != nil {
		t.Fatal(err)
	}
	x := e.start(t, ReplicaSpec{Instance: "probe-1", Image: ref})
	if got := ask(t, x, "op=env&name=fprocess"); got == "" {
		t.Fatal("the pulled image's environment is missing")
	}

	// Unused images go; one a replica runs stays.
	if err := e.rt.RemoveUnusedImages(ctx, nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.client.GetImage(e.rt.ns(ctx), ref); err != nil {
		t.Fatalf("the running replica's image was removed: %v", err)
	}
	if err := x.Stop(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	// Within its grace an unused image stays: a client imports (or
	// pulls) first and deploys after.
	if err := e.rt.RemoveUnusedImages(ctx, nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.rt.HasImage(ctx, ref); !ok || err != nil {
		t.Fatalf("an image pulled a moment ago was removed: %v %v", ok, err)
	}
	if err := e.rt.RemoveUnusedImages(ctx, nil, 0); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.rt.HasImage(ctx, ref); ok || err != nil {
		t.Fatalf("an unused image was kept: %v %v", ok, err)
	}
	e.requireClean(t)
}
