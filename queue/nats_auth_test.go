package queue

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// A listening embedded server refuses clients without its credentials: the
// queue holds other callers' headers, callback tokens and results.
func TestEmbeddedListenRequiresCredentials(t *testing.T) {
	if _, err := StartEmbedded(EmbeddedOptions{StoreDir: t.TempDir(), Listen: freeAddr(t)}); err == nil {
		t.Fatal("listening without credentials was accepted")
	}
	emb, err := StartEmbedded(EmbeddedOptions{StoreDir: t.TempDir(), Listen: freeAddr(t), User: "ferry", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Shutdown()
	url := emb.ClientURL()
	for _, opts := range [][]nats.Option{nil, {nats.UserInfo("ferry", "wrong")}, {nats.UserInfo("other", "s3cret")}} {
		if nc, err := nats.Connect(url, append(opts, nats.MaxReconnects(0))...); err == nil {
			nc.Close()
			t.Fatalf("connected with options %d without the right credentials", len(opts))
		}
	}
	nc, err := nats.Connect(url, nats.UserInfo("ferry", "s3cret"))
	if err != nil {
		t.Fatalf("right credentials refused: %v", err)
	}
	nc.Close()
	// The in-process connection authenticates with them too.
	in, err := emb.Connect("test")
	if err != nil {
		t.Fatalf("in-process: %v", err)
	}
	defer in.Close()
	if _, err := NewJetStream(in); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// An address another program holds is an error at once that names it,
// not a 30 s wait ending in "not ready".
func TestEmbeddedListenAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	_, err = StartEmbedded(EmbeddedOptions{StoreDir: t.TempDir(), Listen: ln.Addr().String(), User: "u", Password: "p"})
	if err == nil || !strings.Contains(err.Error(), "--nats-listen "+ln.Addr().String()) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("%v, want an error naming the address in use", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
}
