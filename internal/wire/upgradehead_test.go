package wire

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// FuzzUpgradeHeadAgreesWithNetHTTP: an upgrade head AppendUpgradeHead
// writes is read by http.ReadRequest as that request: the same line and
// Host, the forwarded fields but the hop-by-hop ones and Content-Length,
// this hop's Connection: Upgrade and Upgrade, and no body.
func FuzzUpgradeHeadAgreesWithNetHTTP(f *testing.F) {
	f.Add("GET", "/ws", "127.0.0.1:8080", "X-A: 1\nKeep-Alive: 5\nProxy-Authorization: Basic eA==\nContent-Length: 3", "websocket")
	f.Add("GET", "/", "h", "Sec-Websocket-Key: abc\nTe: trailers", "h2c, websocket")
	f.Fuzz(func(t *testing.T, method, target, host, fields, protocols string) {
		if !IsToken(method) || target == "" || target[0] != '/' || len(target) > 1 && target[1] == '/' ||
			!isTarget(target) || !isHost(host) || !IsFieldValue(protocols) {
			t.Skip("not a request a client holds")
		}
		if _, err := url.ParseRequestURI(target); err != nil {
			t.Skip("a bad escape: no client holds it")
		}
		h := fuzzHeader(t, fields)
		protos := strings.Split(protocols, ",")
		head := AppendUpgradeHead(nil, method, target, host, h, protos)
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			t.Fatalf("%q does not parse: %v", head, err)
		}
		if r.Method != method || r.RequestURI != target || r.Host != host || r.ContentLength != 0 {
			t.Fatalf("%q read as %s %s host %s length %d", head, r.Method, r.RequestURI, r.Host, r.ContentLength)
		}
		want := http.Header{"Connection": {"Upgrade"}, "Upgrade": {TrimOWS(strings.Join(protos, ", "))}}
		for k, vv := range h {
			if !IsHopHeader(k) && k != "Content-Length" && k != "Host" {
				want[k] = vv
			}
		}
		if !reflect.DeepEqual(r.Header, want) {
			t.Fatalf("%q: fields %q, want %q", head, r.Header, want)
		}
	})
}
