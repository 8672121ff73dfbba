package watchdog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/internal/wire"
)

// upstreamPool is a minimal HTTP/1.1 client for the one loopback upstream of
// mode http. net/http's Transport costs two goroutines and several channel
// hand-offs per request; here a request is written and its response read on
// the calling goroutine over a pooled keep-alive connection, which roughly
// halves the proxy's CPU per request.
type upstreamPool struct {
	addr    string // host:port to dial
	maxIdle int
	owner   *upstreamOwner // nil: every connection is taken as the function's

	mu   sync.Mutex
	idle []*upConn
}

type upConn struct {
	c     net.Conn
	br    *bufio.Reader
	bw    *bufio.Writer
	wdone chan error // a body writer still running, see release
	werr  error      // its result, once wdone was received
}

// bodyWritten reports whether the request body was written completely
// (false while the writer still runs or if it failed).
func (uc *upConn) bodyWritten() bool {
	if uc.wdone != nil {
		select {
		case uc.werr = <-uc.wdone:
			uc.wdone = nil
		default:
			return false
		}
	}
	return uc.werr == nil
}

const upBufSize = 16 * 1024

func (p *upstreamPool) get() (uc *upConn, reused bool, err error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		uc = p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return uc, true, nil
	}
	p.mu.Unlock()
	c, err := p.dial(5 * time.Second)
	if err != nil {
		return nil, false, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return &upConn{c: c, br: bufio.NewReaderSize(c, upBufSize), bw: bufio.NewWriterSize(c, upBufSize)}, false, nil
}

// upstreamOwner tells whether a connection to the upstream reached this
// replica's function. The upstream port is free until the function binds
// it, and any process of the machine (another function) may bind it first:
// a connect that succeeds proves nothing, and the requests sent on it would
// go, headers and all, to whoever listens. So each new connection is
// checked once, before anything is written on it (connections are pooled,
// so a call rarely pays for it).
type upstreamOwner struct {
	uid int          // the function's own uid when isolated, else -1
	pid atomic.Int32 // the function process once started (its tree is searched without a uid)
	// strict: the loopback is shared with other functions (Ferry's process
	// runtime), so a kernel that cannot answer fails the check. Elsewhere
	// (a container of its own, possibly in a sandbox without sock_diag)
	// that is only logged, once.
	strict bool
	warned atomic.Bool
	log    *slog.Logger
}

// errNotReplica marks a connection accepted by something other than the
// replica's function.
var errNotReplica = errors.New("not this replica's function")

// dial connects to the upstream and checks that the function accepted it.
func (p *upstreamPool) dial(timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", p.addr, timeout)
	if err != nil || p.owner == nil {
		return c, err
	}
	if err := p.owner.check(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %w", errNotReplica, err)
	}
	return c, nil
}

func (p *upstreamPool) put(uc *upConn) {
	uc.c.SetDeadline(time.Time{})
	p.mu.Lock()
	if len(p.idle) < p.maxIdle {
		p.idle = append(p.idle, uc)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	uc.c.Close()
}

// release ends an exchange: the connection goes back to the pool when
// reusable and the request body was written whole, else it is closed.
func (p *upstreamPool) release(uc *upConn, reusable bool) {
	if !uc.bodyWritten() {
		// The upstream answered without taking the whole body: the
		// connection is out of sync; closing it unblocks the writer.
		uc.c.Close()
		if uc.wdone != nil {
			<-uc.wdone
		}
		reusable = false
	}
	uc.wdone, uc.werr = nil, nil
	if reusable {
		p.put(uc)
	} else {
		uc.c.Close()
	}
}

// closeIdle closes every pooled connection (shutdown).
func (p *upstreamPool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, uc := range idle {
		uc.c.Close()
	}
}

// writeHead writes the request head. uri is origin-form; contentLength
// -1 sends the body chunked.
func (uc *upConn) writeHead(r *http.Request, uri string, contentLength int64) {
	uc.bw.Write(wire.AppendRequestHead(uc.bw.AvailableBuffer(), r.Method, uri, "", r.Host, r.Header, contentLength))
}

// writeBody sends the body as announced by writeHead and flushes.
func writeBody(bw *bufio.Writer, body io.Reader, contentLength int64) error {
	switch {
	case contentLength > 0:
		n, err := io.Copy(bw, io.LimitReader(body, contentLength))
		if err == nil && n < contentLength {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
	case contentLength < 0:
		cw := wire.NewChunkedWriter(bw)
		if _, err := io.Copy(cw, body); err != nil {
			return err
		}
		cw.Close()
	}
	return bw.Flush()
}

// roundTrip sends r (its body: body with contentLength, replayable when
// small) and returns the response head. deadline bounds the whole exchange.
// A stale pooled connection is retried once on a new one when the request
// can be replayed.
func (p *upstreamPool) roundTrip(r *http.Request, uri string, body []byte, stream io.Reader, contentLength int64,
	deadline time.Time) (*http.Response, *upConn, error) {
	for attempt := 0; ; attempt++ {
		uc, reused, err := p.get()
		if err != nil {
			return nil, nil, err
		}
		if !deadline.IsZero() {
			uc.c.SetDeadline(deadline)
		}
		uc.wdone, uc.werr = nil, nil
		uc.writeHead(r, uri, contentLength)
		var werr error
		var wdone chan error
		switch {
		case stream == nil:
			uc.bw.Write(body)
			werr = uc.bw.Flush()
		default:
			// Large or unknown-length bodies are written while the response is
			// read, so an upstream that answers early cannot deadlock us.
			wdone = make(chan error, 1)
			go func() { wdone <- writeBody(uc.bw, stream, contentLength) }()
		}
		var resp *http.Response
		// again: the request cannot have reached the function: its write
		// failed, or the connection closed at once without a byte of
		// answer (closed while idle). Anything later, a byte of answer
		// (a 100 Continue too) or a close after StaleWindow, means the
		// function may have run it: never sent twice.
		again := false
		if werr == nil {
			// Wait for the first byte apart: ReadResponse reports a
			// connection closed before any byte and one closed mid-head
			// alike, and only the first may be retried.
			sent := time.Now()
			if _, err = uc.br.Peek(1); err == nil {
				resp, err = http.ReadResponse(uc.br, r)
			} else {
				again = wire.ClosedAtOnce(err, sent)
			}
			for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
				resp, err = http.ReadResponse(uc.br, r) // skip informational answers
			}
		} else {
			err, again = werr, wire.ClosedBeforeAnswer(werr)
		}
		if err == nil {
			uc.wdone = wdone // the upstream may answer before taking the whole body
			return resp, uc, nil
		}
		uc.c.Close()
		if wdone != nil {
			<-wdone // the close unblocked it
		}
		if reused && stream == nil && attempt == 0 && again {
			continue // the idle connection had been closed by the upstream
		}
		return nil, nil, err
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
