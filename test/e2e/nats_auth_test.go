package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
	"github.com/nats-io/nats.go"
)

// embeddedNATSPassword is the password `ferry serve --nats-listen`
// generated into its data directory (written when the embedded server
// starts, which may be just after the gateway answers).
func embeddedNATSPassword(t *testing.T, f *harness.Ferry) string {
	t.Helper()
	path := filepath.Join(f.DataDir, "secrets", "nats-password")
	for deadline := time.Now().Add(15 * time.Second); ; {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not written", path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The embedded NATS listening on TCP holds every caller's queued request:
// a client without its credentials (another local user, a function) is
// refused, as is a queue-worker that was not given them.
func TestEmbeddedNATSRequiresCredentials(t *testing.T) {
	natsAddr := freeAddr(t)
	f := harness.T(t, harness.Options{Args: []string{"--nats-listen", natsAddr}})
	pass := embeddedNATSPassword(t, f)
	if fi, err := os.Stat(filepath.Join(f.DataDir, "secrets", "nats-password")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("nats-password: %v %v, want mode 0600", fi.Mode(), err)
	}
	url := "nats://" + natsAddr
	for name, opts := range map[string][]nats.Option{
		"none":           nil,
		"wrong password": {nats.UserInfo("ferry", pass+"x")},
	} {
		nc, err := nats.Connect(url, append(opts, nats.MaxReconnects(0))...)
		if err == nil {
			nc.Close()
			t.Fatalf("%s: connected to the embedded NATS", name)
		}
	}
	nc, err := nats.Connect(url, nats.UserInfo("ferry", pass))
	if err != nil {
		t.Fatalf("with the generated password: %v", err)
	}
	nc.Close()

	cmd := exec.Command(filepath.Join(f.BinDir, "ferry"), "queue-worker", "--nats-url", url, "--gateway", f.URL)
	cmd.Env = append(os.Environ(), "FERRY_NATS_PASSWORD=", "FERRY_NATS_USER=")
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("queue-worker without credentials exited 0")
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("queue-worker without credentials kept running")
	}
}
