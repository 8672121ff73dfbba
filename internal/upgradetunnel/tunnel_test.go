package upgradetunnel

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// echoUpstream accepts one upgrade to "echo" and then echoes every byte;
// other requests get 426.
func echoUpstream(t *testing.T) string {
	return harness.RawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("Upgrade") != "echo" || req.Header.Get("X-Seen") != "yes" {
			io.WriteString(c, "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 4\r\n\r\nnope")
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nX-Proto: echo\r\n\r\n")
		io.Copy(c, br)
	})
}

// proxy is a server whose handler forwards upgrades to upstream.
func proxy(t *testing.T, upstream string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Requested(r) {
			http.Error(w, "not an upgrade", 400)
			return
		}
		c, err := net.Dial("tcp", upstream)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		h := http.Header{"X-Seen": {"yes"}}
		if _, err := Proxy(w, r, Request{Conn: c, Target: r.URL.RequestURI(), Host: upstream, Header: h, Upgrade: r.Header["Upgrade"], Handshake: 5 * time.Second}); err != nil {
			http.Error(w, err.Error(), 502)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestTunnel(t *testing.T) {
	addr := proxy(t, echoUpstream(t))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// The first tunnelled bytes ride with the handshake: they must not be
	// lost in the proxy's buffers.
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: echo\r\n\r\nearly ")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("X-Proto") != "echo" {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	io.WriteString(c, "bird")
	got := make([]byte, len("early bird"))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "early bird" {
		t.Fatalf("echo through the tunnel: %q %v", got, err)
	}
}

func TestRefusedUpgradeIsRelayed(t *testing.T) {
	addr := proxy(t, echoUpstream(t))
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "other")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 426 || string(b) != "nope" {
		t.Fatalf("got %d %q, want the upstream's 426", resp.StatusCode, b)
	}
}

func TestRequested(t *testing.T) {
	for conn, want := range map[string]bool{"Upgrade": true, "keep-alive, upgrade": true, "keep-alive": false, "": false} {
		r := &http.Request{Header: http.Header{"Upgrade": {"websocket"}}}
		if conn != "" {
			r.Header.Set("Connection", conn)
		}
		if got := Requested(r); got != want {
			t.Errorf("Connection %q: %v, want %v", conn, got, want)
		}
	}
	if Requested(&http.Request{Header: http.Header{"Connection": {"upgrade"}}}) {
		t.Error("Connection: upgrade without an Upgrade header")
	}
}

// The upgrade goes on with this hop's own connection fields only: a
// caller's hop-by-hop fields (a proxy's credentials among them) and a
// Content-Length (the request goes on with no body) stop here, whatever
// the caller left in Header.
func TestHopFieldsStop(t *testing.T) {
	seen := make(chan http.Header, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			seen <- nil
			return
		}
		seen <- req.Header
		io.WriteString(c, "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n")
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-Seen": {"yes"}, "Proxy-Authorization": {"Basic c2VjcmV0"}, "Keep-Alive": {"timeout=5"},
		"Content-Length": {"3"}, "Te": {"trailers"}}
	r := httptest.NewRequest("GET", "/ws", nil)
	w := httptest.NewRecorder()
	if code, err := Proxy(w, r, Request{Conn: c, Target: "/ws", Host: "fn", Header: h, Upgrade: []string{"websocket"}, Handshake: 5 * time.Second}); err != nil || code != 426 {
		t.Fatalf("got %d %v", code, err)
	}
	got := <-seen
	for _, k := range []string{"Proxy-Authorization", "Keep-Alive", "Content-Length", "Te"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s: %q went upstream", k, v)
		}
	}
	if got.Get("X-Seen") != "yes" || got.Get("Upgrade") != "websocket" || got.Get("Connection") != "Upgrade" {
		t.Errorf("upstream saw %v", got)
	}
}
