package ui

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestAssetsCachedAndCompressed(t *testing.T) {
	h := Handler(Options{Version: "v1 <b>"})
	shell := get(t, h, "/ui/")
	body, _ := io.ReadAll(shell.Body)
	if shell.StatusCode != 200 || shell.Header.Get("Cache-Control") != "no-cache" || shell.Header.Get("ETag") == "" {
		t.Fatalf("shell: %d %v", shell.StatusCode, shell.Header)
	}
	if csp := shell.Header.Get("Content-Security-Policy"); strings.Count(csp, "'sha256-") != 2 || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("shell CSP should allow exactly its two inline scripts and forbid framing: %q", csp)
	}
	if strings.Contains(string(body), "<b>") || !strings.Contains(string(body), "v1 &lt;b&gt;") {
		t.Error("the version is not HTML-escaped in the shell")
	}
	m := regexp.MustCompile(`/ui/assets/app\.[0-9a-f]{12}\.js`).FindString(string(body))
	if m == "" {
		t.Fatal("the shell names no content-hashed app script")
	}
	if r := get(t, h, "/ui/", "If-None-Match", shell.Header.Get("ETag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("shell revalidation: %d, want 304", r.StatusCode)
	}
	app := get(t, h, m, "Accept-Encoding", "gzip, br")
	if app.StatusCode != 200 || app.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(app.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("app: %d %v", app.StatusCode, app.Header)
	}
	zr, err := gzip.NewReader(app.Body)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(zr)
	if !strings.Contains(string(js), "function render()") {
		t.Error("the gzip'd app script is not the bundle")
	}
	if plain := get(t, h, strings.TrimPrefix(m, "/ui")); plain.Header.Get("Content-Encoding") != "" || plain.StatusCode != 200 {
		t.Errorf("without gzip or prefix: %d %v", plain.StatusCode, plain.Header)
	}
	if r := get(t, h, "/ui/assets/app.000000000000.js"); r.StatusCode != 404 {
		t.Errorf("unknown asset: %d", r.StatusCode)
	}
}

// gatewayish answers 401 with a challenge without credentials, like the
// gateway's auth in front of /ui/ and /system/.
var gatewayish = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := r.BasicAuth(); !ok {
		w.Header()["Www-Authenticate"] = []string{`Basic realm="ferry"`}
		http.Error(w, "authentication required", 401)
		return
	}
	w.Write([]byte("ok"))
})

func TestPublic(t *testing.T) {
	h := Public(gatewayish, Options{})
	if r := get(t, h, "/ui/login"); r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("/ui/login without credentials: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/ui/", "/ui", "/"} {
		if r := get(t, h, p); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/login" {
			t.Errorf("%s without credentials: %d -> %q, want 303 to /ui/login", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	if r := get(t, h, "/ui/", "Authorization", "Basic YTpi"); r.StatusCode != 200 {
		t.Errorf("/ui/ with credentials is not passed to the gateway: %d", r.StatusCode)
	}
	// The app script stays behind auth.
	if r := get(t, h, "/ui/assets/app.x.js"); r.StatusCode != 401 || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("asset without credentials: %d %v", r.StatusCode, r.Header)
	}
	// The portal's own API calls get no challenge (no browser dialog).
	if r := get(t, h, "/system/functions", UIHeader, "1"); r.StatusCode != 401 || r.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("portal API call: %d %v, want 401 without WWW-Authenticate", r.StatusCode, r.Header)
	}
	if r := get(t, h, "/system/functions"); r.Header.Get("WWW-Authenticate") == "" {
		t.Error("other clients must still get the challenge")
	}
}

// The log stream needs Flush through the wrapper.
func TestQuiet401Flushes(t *testing.T) {
	rec := httptest.NewRecorder()
	var w http.ResponseWriter = &quiet401{ResponseWriter: rec}
	w.Write([]byte("x"))
	http.NewResponseController(w).Flush()
	if !rec.Flushed {
		t.Error("Flush did not reach the underlying writer")
	}
}
