package process

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// TestArtifactGC: after an update to a new version, the old artifact is
// removed once its grace is over; the one in use and a fresh upload not
// deployed yet stay; a check (HEAD) restarts the grace; nothing a stored
// function names is removed, also across a restart.
func TestArtifactGC(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ArtifactGrace = time.Hour })
	t0 := time.Now()
	clock := t0
	e.p.now = func() time.Time { return clock }
	srv := artifactServer(t, e.p)
	v1 := targz(t, entry{name: "handler.sh", body: "#!/bin/sh\necho v1\n", mode: 0o755})
	v2 := targz(t, entry{name: "handler.sh", body: "#!/bin/sh\necho v2\n", mode: 0o755})
	spare := targz(t, entry{name: "x", body: "not deployed"})
	for _, b := range [][]byte{v1, v2, spare} {
		if code, msg := upload(t, srv, b, ""); code/100 != 2 {
			t.Fatalf("upload: %d %s", code, msg)
		}
	}
	d := api.FunctionDeployment{Service: "gc", Namespace: ns, Image: "x", EnvProcess: "./handler.sh",
		Annotations: map[string]string{ArtifactAnnotation: digestOf(v1)}}
	e.deploy(d)
	d.Annotations[ArtifactAnnotation] = digestOf(v2)
	if err := e.p.Update(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	exists := func(b []byte) bool { return e.p.hasArtifact(digestOf(b)[len("sha256:"):]) }

	if n, _, err := e.p.collectArtifacts(t0.Add(30 * time.Minute)); err != nil || n != 0 {
		t.Fatalf("within the grace: removed %d (%v)", n, err)
	}
	// A check (HEAD) of the spare at +50 min restarts its grace.
	clock = t0.Add(50 * time.Minute)
	if code := head(t, srv, digestOf(spare)); code != 200 {
		t.Fatalf("HEAD: %d", code)
	}
	n, freed, err := e.p.collectArtifacts(t0.Add(70 * time.Minute))
	if err != nil || n != 1 || freed <= 0 {
		t.Fatalf("after the grace: removed %d (%d bytes, %v), want only v1", n, freed, err)
	}
	if exists(v1) || !exists(v2) || !exists(spare) {
		t.Fatalf("v1 (old) %v, v2 (deployed) %v, spare (checked) %v: want false, true, true", exists(v1), exists(v2), exists(spare))
	}
	// What a stored function names stays, also after a restart and long
	// after; the spare goes once its renewed grace is over.
	e.reopen()
	if n, _, _ := e.p.collectArtifacts(t0.Add(3 * time.Hour)); n != 1 || !exists(v2) || exists(spare) {
		t.Fatalf("3 h later: removed %d, v2 kept %v, spare kept %v: want 1, true, false", n, exists(v2), exists(spare))
	}
	if r := e.waitReady("gc", 1); len(r.Endpoints) != 1 {
		t.Fatal("the function did not come back")
	}
	// The record went with the file: v1 uploaded again is stored anew.
	if code, msg := upload(t, artifactServer(t, e.p), v1, ""); code/100 != 2 || !exists(v1) {
		t.Fatalf("upload after collection: %d %s", code, msg)
	}
	ents, _ := os.ReadDir(e.p.path("artifacts", "tmp"))
	if len(ents) != 0 {
		t.Fatalf("%d temp files left", len(ents))
	}
}
