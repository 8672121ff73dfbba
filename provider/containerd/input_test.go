package containerd

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
)

// A reference nobody imported, a malformed one, a bad instance name and a
// bad secret name each get an error that says what is wrong, and leave
// nothing behind.
func TestStartBadInput(t *testing.T) {
	e := newEnv(t, 96)
	e.importProbe(t)
	ctx := context.Background()
	for _, c := range []struct {
		spec ReplicaSpec
		want string
	}{
		{ReplicaSpec{Namespace: "fn", Instance: "x-1", Image: "ferry-test/nothing:1"}, "docker.io/ferry-test/nothing:1 is not in containerd namespace " + e.cfg.Namespace + ": import or pull it first"},
		{ReplicaSpec{Namespace: "fn", Instance: "x-1", Image: "Bad Ref"}, `image reference "Bad Ref"`},
		{ReplicaSpec{Namespace: "fn", Instance: "x/1", Image: "ferry-test/probe:1"}, `instance "x/1"`},
		// Refused late, once its network is set up: that is undone too.
		{ReplicaSpec{Namespace: "fn", Instance: "x-1", Image: "ferry-test/probe:1", Secrets: map[string][]byte{"../key": nil}}, `secret name "../key" is not a plain file name`},
	} {
		_, err := e.rt.Start(ctx, c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Start(%+v) = %v, want an error with %q", c.spec, err, c.want)
		}
	}
	e.requireClean(t)
}

// A corrupt or truncated archive is refused with a clear error; no image
// is created and the content it wrote is not kept.
func TestImportCorruptArchive(t *testing.T) {
	e := newEnv(t, 97)
	good, err := os.ReadFile(probeImage(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := e.rt.ns(context.Background())
	for name, in := range map[string]io.Reader{
		"garbage":   strings.NewReader(strings.Repeat("not a tarball ", 100)),
		"truncated": bytes.NewReader(good[:len(good)/2]),
		"empty":     strings.NewReader(""),
	} {
		refs, err := e.rt.Import(ctx, in)
		if err == nil || !strings.HasPrefix(err.Error(), "import image") {
			t.Errorf("%s archive: refs %v, err %v", name, refs, err)
			continue
		}
		t.Logf("%s archive: %v", name, err)
	}
	imgs, err := e.rt.client.ImageService().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 0 {
		t.Fatalf("images after failed imports: %v", imgs)
	}
	var blobs []string
	err = e.rt.client.ContentStore().Walk(ctx, func(i content.Info) error {
		blobs = append(blobs, i.Digest.String())
		return nil
	})
	if err != nil || len(blobs) > 0 {
		t.Fatalf("content kept after failed imports: %v %v", blobs, err)
	}
	st, err := e.rt.client.ContentStore().ListStatuses(ctx)
	if err != nil || len(st) > 0 {
		t.Fatalf("unfinished ingests after failed imports: %v %v", st, err)
	}
	e.requireClean(t)
}

// The OCI layout `ferry build --image --format oci` writes, packed as tar,
// imports under its normalized name and runs.
func TestImportOCILayout(t *testing.T) {
	e := newEnv(t, 90)
	probeImage(t)
	f, err := os.Open(probe.oci)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	refs, err := e.rt.Import(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0] != "docker.io/ferry-test/probe-oci:1" {
		t.Fatalf("imported %v", refs)
	}
	x := e.start(t, ReplicaSpec{Instance: "probe-1", Image: "ferry-test/probe-oci:1"})
	if got := ask(t, x, "op=env&name=FERRY_GATEWAY_URL"); got != e.cfg.GatewayURL {
		t.Fatalf("FERRY_GATEWAY_URL = %q", got)
	}
}
