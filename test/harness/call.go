package harness

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Call sends one request with c (headers as name, value pairs, each
// set) and returns the status, header and whole body; a request that
// cannot be made or read fails t. The gateway's and the watchdog's
// tests call their servers with it.
func Call(t testing.TB, c *http.Client, method, url, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}
