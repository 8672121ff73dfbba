package containerd

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Two replicas serve on their own addresses, each confined: non-root, no
// new privileges, seccomp, no capabilities, read-only root, a bounded
// /tmp and pids, secrets read-only; neither reaches the other, both reach
// the host. Stop leaves nothing behind.
func TestReplicasServeConfined(t *testing.T) {
	e := newEnv(t, 91)
	e.importProbe(t)
	a := e.start(t, ReplicaSpec{Instance: "probe-1", ReadOnlyRoot: true, Pids: 32,
		Secrets: map[string][]byte{"api-key": []byte("s3cret")}})
	b := e.start(t, ReplicaSpec{Instance: "probe-2"})
	if a.Addr() == b.Addr() || !strings.HasPrefix(a.Addr(), "198.18.91.") {
		t.Fatalf("addresses %s and %s", a.Addr(), b.Addr())
	}
	for _, x := range []*Replica{a, b} {
		resp, err := http.Post("http://"+x.Addr()+"/", "text/plain", strings.NewReader("ctd"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s", x.Addr(), resp.Status)
		}
	}

	id := ask(t, a, "op=id")
	for _, want := range []string{"NoNewPrivs: 1", "Seccomp: 2", "CapEff: 0000000000000000"} {
		if !strings.Contains(id, want) {
			t.Errorf("replica status lacks %q:\n%s", want, id)
		}
	}
	if strings.Contains(id, "uid=0 ") {
		t.Errorf("replica runs as root:\n%s", id)
	}
	if got := ask(t, a, "op=write&path=/probe-file"); !strings.Contains(got, "read-only file system") {
		t.Errorf("writing the read-only root: %s", got)
	}
	if got := ask(t, a, "op=fill&path=/tmp/f&n=524288"); got != "ok" {
		t.Errorf("writing 512 KiB to /tmp: %s", got)
	}
	if got := ask(t, a, "op=fill&path=/tmp/f&n=2097152"); !strings.Contains(got, "no space left") {
		t.Errorf("writing 2 MiB to a 1 MiB /tmp: %s", got)
	}
	if got := ask(t, a, "op=read&path=/var/openfaas/secrets/api-key"); got != "s3cret" {
		t.Errorf("secret reads %q", got)
	}
	if got := ask(t, a, "op=write&path=/var/openfaas/secrets/api-key"); !strings.Contains(got, "error") {
		t.Errorf("overwriting a secret: %s", got)
	}
	if got := ask(t, b, "op=read&path=/var/openfaas/secrets/api-key"); !strings.Contains(got, "no such file") {
		t.Errorf("a replica without secrets reads: %s", got)
	}
	if got := ask(t, a, "op=forks&n=100"); !strings.Contains(got, "error") {
		t.Errorf("100 processes under a pids limit of 32: %s", got)
	}
	if got := ask(t, a, "op=env&name=FERRY_GATEWAY_URL"); got != e.cfg.GatewayURL {
		t.Errorf("FERRY_GATEWAY_URL = %q", got)
	}

	// The host, where the gateway listens, is reachable; the neighbour is not.
	ln, err := net.Listen("tcp", net.JoinHostPort(e.rt.GatewayIP().String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if got := ask(t, a, "op=dial&addr="+ln.Addr().String()); got != "ok" {
		t.Errorf("replica to host %s: %s", ln.Addr(), got)
	}
	for _, pair := range [][2]*Replica{{a, b}, {b, a}} {
		if got := ask(t, pair[0], "op=dial&addr="+pair[1].Addr()); !strings.Contains(got, "error") {
			t.Errorf("%s reached %s: %s", pair[0].ID(), pair[1].Addr(), got)
		}
	}
	if got := ask(t, a, "op=dial&addr="+a.Addr()); got != "ok" {
		t.Errorf("replica to itself: %s", got) // the dial probe itself works
	}

	ctx := context.Background()
	for _, x := range []*Replica{a, b} {
		if err := x.Stop(ctx, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := x.Err(); err != ErrStopped {
			t.Errorf("after Stop, Err() = %v", err)
		}
	}
	e.requireClean(t)
}

// A replica over its memory limit is killed; its exit is reported with
// its status and everything it owned is removed.
func TestMemoryLimitKills(t *testing.T) {
	e := newEnv(t, 92)
	e.importProbe(t)
	x := e.start(t, ReplicaSpec{Instance: "probe-1", MemoryBytes: 32 << 20})
	c := &http.Client{Timeout: 10 * time.Second}
	if resp, err := c.Get("http://" + x.Addr() + "/?op=alloc&mb=128"); err == nil {
		resp.Body.Close()
	}
	select {
	case <-x.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("a replica allocating 128 MiB under a 32 MiB limit still runs")
	}
	if err := x.Err(); err == nil || !strings.Contains(err.Error(), "exited with status") {
		t.Fatalf("Err() = %v", err)
	}
	t.Logf("exit reported: %v", x.Err())
	e.requireClean(t)
}
