package process

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
)

// artifactServer mounts ArtifactRoutes the way the gateway does.
func artifactServer(t *testing.T, p *Provider) *httptest.Server {
	mux := http.NewServeMux()
	for pattern, h := range p.ArtifactRoutes() {
		mux.Handle(pattern, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func upload(t *testing.T, srv *httptest.Server, body []byte, digest string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/system/artifacts", bytes.NewReader(body))
	if digest != "" {
		req.Header.Set(DigestHeader, digest)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func head(t *testing.T, srv *httptest.Server, digest string) int {
	res, err := client.Head(srv.URL + "/system/artifacts/" + digest)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// Upload, HEAD, deploy with the digest and run the code from its working
// dir; an unknown digest is a 400 naming it.
func TestArtifactUploadDeployRun(t *testing.T) {
	e := newEnv(t, nil)
	srv := artifactServer(t, e.p)
	art := targz(t,
		entry{name: "handler.sh", body: "read x\necho \"$(cat data/greeting.txt) $x from $(basename \"$PWD\")\"\n", mode: 0o755},
		entry{name: "data/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "data/greeting.txt", body: "hello"},
		entry{name: "link.txt", typ: tar.TypeSymlink, link: "data/greeting.txt"},
	)
	dg := digestOf(art)
	if code := head(t, srv, dg); code != 404 {
		t.Fatalf("HEAD before upload: %d", code)
	}
	code, body := upload(t, srv, art, dg)
	if code != 201 {
		t.Fatalf("upload: %d %s", code, body)
	}
	var res struct {
		Digest string `json:"digest"`
		Size   int64  `json:"size"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || res.Digest != dg || res.Size != int64(len(art)) {
		t.Fatalf("upload answer %s (%v)", body, err)
	}
	if code := head(t, srv, dg); code != 200 {
		t.Fatalf("HEAD after upload: %d", code)
	}
	if code, body := upload(t, srv, art, dg); code != 201 {
		t.Fatalf("second upload of the same bytes: %d %s", code, body)
	}
	wrong := "sha256:" + strings.Repeat("0", 64)
	if code, body := upload(t, srv, art, wrong); code != 400 || !strings.Contains(body, "mismatch") {
		t.Fatalf("digest mismatch: %d %s", code, body)
	}

	err := e.p.Deploy(context.Background(), api.FunctionDeployment{Service: "ghost", Image: "x", Namespace: ns, EnvProcess: "sh handler.sh",
		Annotations: map[string]string{ArtifactAnnotation: wrong}})
	if api.StatusOf(err) != 400 || !strings.Contains(err.Error(), wrong) {
		t.Fatalf("deploy with an unknown artifact: %v", err)
	}
	if _, ok := e.p.Route(ns, "ghost"); ok {
		t.Fatal("a failed deploy left a function behind")
	}

	e.deploy(api.FunctionDeployment{Service: "code", EnvProcess: "sh handler.sh", Annotations: map[string]string{ArtifactAnnotation: dg}})
	r := e.waitReady("code", 1)
	hexd := strings.TrimPrefix(dg, "sha256:")
	cwd := hexd // the code dir, seen at /home/app when isolated
	if e.p.isolate {
		cwd = "app"
	}
	if code, body := invoke(t, r.Endpoints[0], "world\n"); code != 200 || body != "hello world from "+cwd+"\n" {
		t.Fatalf("invoke: %d %q", code, body)
	}
	wd := filepath.Join(e.dir, "functions", ns, "code", hexd)
	if l, err := os.Readlink(filepath.Join(wd, "link.txt")); err != nil || l != "data/greeting.txt" {
		t.Fatalf("symlink inside the archive: %q %v", l, err)
	}
	if e.p.isolate {
		fi, _ := os.Stat(wd)
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("working dir mode %v, want 0700", fi.Mode().Perm())
		}
	}
	// Delete removes the working dir once the replicas are gone.
	if err := e.p.Delete(context.Background(), ns, "code"); err != nil {
		t.Fatal(err)
	}
	if err := e.p.waitCleanup(context.Background(), ns+"/code"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "functions", ns, "code")); !os.IsNotExist(err) {
		t.Fatalf("working dir left after delete: %v", err)
	}
}

func TestBadArchivesRejected(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxExtractBytes = 1000; c.MaxArtifactBytes = 64 << 10 })
	srv := artifactServer(t, e.p)
	big := bytes.Repeat([]byte{'a'}, 200<<10)
	cases := []struct {
		name string
		body []byte
		want string
	}{
		{"not gzip", []byte("plain text"), "not gzip"},
		{"empty", nil, "empty"},
		{"gzip not tar", gz([]byte("not a tar archive at all, just some bytes that are long enough to fill a tar header block......")), "not a valid tar"},
		{"absolute path", targz(t, entry{name: "/etc/evil", body: "x"}), "absolute"},
		{"dot dot", targz(t, entry{name: "a/../../evil", body: "x"}), `".."`},
		{"symlink escaping", targz(t, entry{name: "l", typ: tar.TypeSymlink, link: "../../etc/passwd"}), "outside"},
		{"absolute symlink", targz(t, entry{name: "l", typ: tar.TypeSymlink, link: "/etc/passwd"}), "relative path"},
		{"nested symlink escaping", targz(t, entry{name: "a/b/l", typ: tar.TypeSymlink, link: "../../../x"}), "outside"},
		// Each link alone stays inside; followed one through the other,
		// "l" is the parent of the tree (a guest reading through it
		// reaches every file of the host).
		{"symlink chain escaping", targz(t,
			entry{name: "d1/d2", typ: tar.TypeSymlink, link: ".."},
			entry{name: "l", typ: tar.TypeSymlink, link: "d1/d2/.."}), "outside"},
		{"symlink chain escaping, link first", targz(t,
			entry{name: "l", typ: tar.TypeSymlink, link: "d1/d2/.."},
			entry{name: "d1/d2", typ: tar.TypeSymlink, link: ".."}), "outside"},
		{"symlink created through a symlinked dir", targz(t,
			entry{name: "s", typ: tar.TypeSymlink, link: "."},
			entry{name: "s/up", typ: tar.TypeSymlink, link: ".."}), "outside"},
		{"hard link outside", targz(t, entry{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}), "hard links"},
		{"char device", targz(t, entry{name: "null", typ: tar.TypeChar}), "device"},
		{"block device", targz(t, entry{name: "sda", typ: tar.TypeBlock}), "device"},
		{"fifo", targz(t, entry{name: "p", typ: tar.TypeFifo}), "fifo"},
		{"unpacks too big", targz(t, entry{name: "big", body: strings.Repeat("a", 2000)}), "more than 1000 bytes"},
		{"upload too big", big, "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := upload(t, srv, c.body, "")
			want := 400
			if c.name == "upload too big" {
				want = 413
			}
			if code != want || !strings.Contains(body, c.want) {
				t.Fatalf("got %d %q, want %d containing %q", code, body, want, c.want)
			}
		})
	}
	ents, _ := os.ReadDir(filepath.Join(e.dir, "artifacts", "sha256"))
	tmps, _ := os.ReadDir(filepath.Join(e.dir, "artifacts", "tmp"))
	if len(ents)+len(tmps) != 0 {
		t.Fatalf("rejected uploads left files: %v %v", ents, tmps)
	}
}

// Writing through an in-tree symlink cannot leave the tree.
func TestExtractStaysInside(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	root, err := os.OpenRoot(out)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	art := targz(t,
		entry{name: "self", typ: tar.TypeSymlink, link: "."},
		entry{name: "self/x", body: "inside"},
		entry{name: "f", body: "one"},
		entry{name: "f", body: "two"}, // later duplicate wins
	)
	if err := extract(bytes.NewReader(art), root, extractLimits{maxBytes: 1 << 20, maxFiles: 10}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "x")); string(b) != "inside" {
		t.Fatalf("x = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "f")); string(b) != "two" {
		t.Fatalf("f = %q", b)
	}
	// A symlink created first, then a file of the same name: the file
	// replaces the link instead of writing through it.
	os.WriteFile(filepath.Join(dir, "victim"), []byte("safe"), 0o644)
	art = targz(t, entry{name: "v", typ: tar.TypeSymlink, link: "f"}, entry{name: "v", body: "new"})
	if err := extract(bytes.NewReader(art), root, extractLimits{maxBytes: 1 << 20, maxFiles: 10}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "f")); string(b) != "two" {
		t.Fatalf("a file entry wrote through a symlink: f = %q", b)
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := newGzip(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Links that stay inside when followed through each other are kept (npm's
// node_modules/.bin links, a "current" link to a versioned dir).
func TestSymlinkChainsInsideAccepted(t *testing.T) {
	art := targz(t,
		entry{name: "node_modules/pkg/bin/tool", body: "x"},
		entry{name: "node_modules/.bin/tool", typ: tar.TypeSymlink, link: "../pkg/bin/tool"},
		entry{name: "current", typ: tar.TypeSymlink, link: "node_modules/.bin"},
		entry{name: "up", typ: tar.TypeSymlink, link: "current/../pkg"},
		entry{name: "self", typ: tar.TypeSymlink, link: "."},
		entry{name: "self/again", typ: tar.TypeSymlink, link: "self"},
	)
	if err := extract(bytes.NewReader(art), nil, extractLimits{maxBytes: 1 << 20, maxFiles: 10}); err != nil {
		t.Fatal(err)
	}
}

// TestExtractKeepsCause: a broken artifact is a 400 whose message the
// caller gets, and whose cause (the gzip or tar reader's error) stays
// behind it for errors.Is and the logs.
func TestExtractKeepsCause(t *testing.T) {
	broken := []byte{0x1f, 0x8b, 8, 0} // gzip's magic, then the header cut short
	err := extract(bytes.NewReader(broken), nil, extractLimits{maxBytes: 1 << 20, maxFiles: 10})
	if api.StatusOf(err) != http.StatusBadRequest {
		t.Fatalf("status %d: %v", api.StatusOf(err), err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cause lost: %v (%#v)", err, errors.Unwrap(err))
	}
}
