// Package upgradetunnel passes HTTP/1.1 protocol upgrades (WebSocket) through a
// proxy hop: the gateway to a replica, the watchdog to its function. The
// request goes upstream with its Upgrade and Connection headers; a 101
// answer turns both connections into one tunnel until either side closes,
// any other answer is relayed as a normal response.
package upgradetunnel

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/internal/wire"
)

// Requested reports whether r asks for a protocol upgrade.
func Requested(r *http.Request) bool {
	return len(r.Header["Upgrade"]) > 0 && wire.ListsToken(r.Header["Connection"], "upgrade")
}

// Request is one upgrade to forward.
type Request struct {
	// Conn is the connection to the upstream, dialled by the caller.
	Conn net.Conn
	// Target is the request-target to send ("/path?query").
	Target string
	// Host is the Host header to send.
	Host string
	// Header is what to send besides Host, Connection and Upgrade (those
	// and the other hop-by-hop fields in it are skipped, as Content-Length:
	// the request goes on with no body).
	Header http.Header
	// Upgrade is the inbound request's Upgrade header value(s).
	Upgrade []string
	// Handshake bounds writing the request and reading the answer.
	Handshake time.Duration
}

// ErrNotHijackable: the server cannot hand over the caller's connection.
var ErrNotHijackable = errors.New("upgrade: the caller's connection cannot be taken over")

// Proxy forwards r's upgrade over u.Conn and returns the upstream status.
// On 101 it runs the tunnel and returns when it closed; u.Conn is always
// closed on return. An error before anything was written to w is the
// caller's to answer (502 or 504).
func Proxy(w http.ResponseWriter, r *http.Request, u Request) (int, error) {
	defer u.Conn.Close()
	if u.Handshake > 0 {
		u.Conn.SetDeadline(time.Now().Add(u.Handshake))
	}
	stop := context.AfterFunc(r.Context(), func() { u.Conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := u.Conn.Write(wire.AppendUpgradeHead(nil, r.Method, u.Target, u.Host, u.Header, u.Upgrade)); err != nil {
		return 0, err
	}
	br := bufio.NewReader(u.Conn)
	resp, err := http.ReadResponse(br, r)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		h := w.Header()
		for k, vv := range resp.Header {
			h[k] = vv
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		return resp.StatusCode, nil
	}
	if !stop() {
		return 0, r.Context().Err()
	}
	u.Conn.SetDeadline(time.Time{})
	client, crw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return 0, ErrNotHijackable
	}
	defer client.Close()
	client.SetDeadline(time.Time{})
	head := wire.AppendStatusLine(crw.AvailableBuffer(), http.StatusSwitchingProtocols)
	crw.Write(append(wire.AppendHeader(head, resp.Header), "\r\n"...))
	if err := crw.Flush(); err != nil {
		return http.StatusSwitchingProtocols, nil
	}
	splice(client, crw.Reader, u.Conn, br)
	return http.StatusSwitchingProtocols, nil
}

// splice copies both ways (each side's already-buffered bytes first) and
// returns when either direction ended, closing both connections so that
// the other direction ends too.
func splice(a net.Conn, ar io.Reader, b net.Conn, br io.Reader) {
	var once sync.Once
	done := make(chan struct{})
	end := func() {
		once.Do(func() {
			a.Close()
			b.Close()
			close(done)
		})
	}
	go func() { io.Copy(b, ar); end() }()
	go func() { io.Copy(a, br); end() }()
	<-done
}
