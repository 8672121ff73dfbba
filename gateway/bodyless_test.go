package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/ferryfaas/ferry/provider/providertest"
	"github.com/ferryfaas/ferry/test/harness"
)

// TestBodylessAnswersAsNetHTTP: a replica's 304 or 204 reaches the caller
// as net/http's server would send it, behind every front: no
// Content-Length (nor a 304's Content-Type), the other fields kept.
func TestBodylessAnswersAsNetHTTP(t *testing.T) {
	// A raw replica: net/http's own server would drop the fields itself.
	addr := harness.RawServer(t, func(_ int, nc net.Conn, br *bufio.Reader) {
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			head := "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n"
			if r.URL.Query().Get("code") == "204" {
				head = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n"
			}
			io.WriteString(nc, head+"Content-Type: text/plain\r\nEtag: \"e\"\r\n\r\n")
		}
	})
	fp := providertest.New()
	fp.Add(ns, "echo", 1, addr)
	_, srv := newTestGateway(t, fp, nil)
	for _, c := range []struct {
		query, ctype string
		code         int
	}{{"", "", 304}, {"?code=204", "text/plain", 204}} {
		r := call(t, "GET", srv.URL+"/function/echo"+c.query, "", false)
		if r.code != c.code || r.header["Content-Length"] != nil || r.header.Get("Content-Type") != c.ctype || r.header.Get("Etag") != `"e"` {
			t.Errorf("front %s, %d: %d, fields %v", testFront, c.code, r.code, r.header)
		}
	}
}
