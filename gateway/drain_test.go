package gateway

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/provider/providertest"
)

// A draining gateway still serves, but every answer says Connection: close
// and its connection then closes cleanly (a FIN after the whole answer),
// so keep-alive callers reconnect elsewhere instead of sending a request
// on a connection about to be closed; the call in flight when the drain
// began is answered whole.
func TestDrainAnswersConnectionClose(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		w.Write([]byte("done " + r.URL.Path))
	})
	fp := providertest.New()
	fp.Add(ns, "echo", 1, addr)
	_, srv := newTestGateway(t, fp, nil)
	t.Cleanup(free) // (first: a failed test must not leave the function waiting)
	host := strings.TrimPrefix(srv.URL, "http://")

	idle := dialRaw(t, host)
	if r := idle.call(t, "/function/echo/before"); r.Close {
		t.Fatal("an answer before the drain closes its keep-alive connection")
	}
	busy := dialRaw(t, host)
	busy.send(t, "/function/echo/slow")
	wait(t, entered, "the slow call to reach the function")

	srv.drain()

	if testFront == "http" {
		// net/http closes the connections it holds idle when keep-alives
		// are turned off; ferry serve gives it no function calls.
		t.Log("net/http front: the idle connection is closed, not served once more")
	} else {
		idle.callClosing(t, "/function/echo/after")
	}
	dialRaw(t, host).callClosing(t, "/function/echo/new")

	free()
	busy.readClosing(t, "/slow")
}

// rawConn is a caller's keep-alive connection, read as a client would.
type rawConn struct {
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, host string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{nc, bufio.NewReader(nc)}
}

func (c *rawConn) send(t *testing.T, path string) {
	t.Helper()
	if _, err := io.WriteString(c.nc, "POST "+path+" HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\nhi"); err != nil {
		t.Fatal(err)
	}
}

// read reads one answer whole and checks it came from the function.
func (c *rawConn) read(t *testing.T, path string) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || string(b) != "done "+path {
		t.Fatalf("%s: %d %q %v", path, resp.StatusCode, b, err)
	}
	return resp
}

func (c *rawConn) call(t *testing.T, path string) *http.Response {
	t.Helper()
	c.send(t, path)
	return c.read(t, strings.TrimPrefix(path, "/function/echo"))
}

// callClosing sends a request and expects readClosing's answer.
func (c *rawConn) callClosing(t *testing.T, path string) {
	t.Helper()
	c.send(t, path)
	c.readClosing(t, strings.TrimPrefix(path, "/function/echo"))
}

// readClosing expects an answer with Connection: close, then the end of
// the connection (not a reset, not silence).
func (c *rawConn) readClosing(t *testing.T, path string) {
	t.Helper()
	if r := c.read(t, path); !r.Close { // (ReadResponse takes Connection: close into Close)
		t.Fatalf("%s while draining: no Connection: close", path)
	}
	if n, err := c.br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("%s: after the answer read %d bytes, %v; want EOF", path, n, err)
	}
}
