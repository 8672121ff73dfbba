package cli

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ferryfaas/ferry/client/clienttest"
)

// TestLocalPasswordGoesOnlyToItsServer: the data dir's admin password is
// sent to the URL its `ferry serve` recorded, never to another listener on
// this machine (a user's own server on another port, or a squatter).
func TestLocalPasswordGoesOnlyToItsServer(t *testing.T) {
	gw := localGateway(t)
	var mu sync.Mutex
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer other.Close()

	runCLI(t, "", "list", "-g", other.URL).fails(t, "authentication failed")
	mu.Lock()
	for _, a := range seen {
		if a != "" {
			t.Errorf("another local listener received credentials: %q", a)
		}
	}
	mu.Unlock()
	runCLI(t, "", "list", "-g", gw.URL).must(t)
	// localhost names the same listener as the recorded 127.0.0.1.
	runCLI(t, "", "list", "-g", strings.Replace(gw.URL, "127.0.0.1", "localhost", 1)).must(t)
}

// TestLoginMakesTheGatewayCurrent: after `ferry login -g X`, commands
// without --gateway talk to X; a flag or $FERRY_URL still wins; logout
// forgets it. `ferry login --show` says which gateway and why, and never
// prints the password.
func TestLoginMakesTheGatewayCurrent(t *testing.T) {
	isolate(t)
	gw := clienttest.Start(t)
	runCLI(t, "", "list").fails(t, "cannot reach gateway at "+DefaultGateway)
	runCLI(t, clienttest.Password+"\n", "login", "-g", gw.URL, "--password-stdin").must(t)
	runCLI(t, "", "list").must(t)
	r := runCLI(t, "", "login", "--show").must(t)
	if !strings.Contains(r.stdout, gw.URL+" (from the last `ferry login`)") || !strings.Contains(r.stdout, "stored by ferry login") ||
		strings.Contains(r.stdout, clienttest.Password) {
		t.Errorf("login --show: %q", r.stdout)
	}
	t.Setenv("FERRY_URL", "http://127.0.0.1:1")
	r = runCLI(t, "", "login", "--show").must(t)
	if !strings.Contains(r.stdout, "http://127.0.0.1:1 (from $FERRY_URL)") || !strings.Contains(r.stdout, "credentials: none") {
		t.Errorf("login --show with FERRY_URL: %q", r.stdout)
	}
	os.Unsetenv("FERRY_URL")
	runCLI(t, "", "logout", "-g", gw.URL).must(t)
	runCLI(t, "", "list").fails(t, "cannot reach gateway at "+DefaultGateway)
}

// TestServeRecordsItsURL: the file the CLI trusts is written 0600.
func TestServeRecordsItsURL(t *testing.T) {
	dir := t.TempDir()
	if err := recordGatewayURL(dir, "http://127.0.0.1:9"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, gatewayURLFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", fi, err)
	}
	var b bytes.Buffer
	announce(&b, "http://127.0.0.1:9", "admin", dir, "")
	if !strings.Contains(b.String(), "http://127.0.0.1:9/ui/") || !strings.Contains(b.String(), filepath.Join(dir, "secrets", "basic-auth-password")) {
		t.Errorf("announce: %q", b.String())
	}
}

// TestInvokeSaysItReadsATerminal: a terminal gets a prompt on stderr
// instead of a silent wait; a pipe gets none.
func TestInvokeSaysItReadsATerminal(t *testing.T) {
	var note bytes.Buffer
	body, err := requestBody(strings.NewReader("typed\n"), &note, true)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	if string(b) != "typed\n" || !strings.Contains(note.String(), "Ctrl+D") {
		t.Errorf("body %q note %q", b, note.String())
	}
	note.Reset()
	requestBody(strings.NewReader("x"), &note, false)
	if note.Len() != 0 {
		t.Errorf("a pipe got a prompt: %q", note.String())
	}
}
