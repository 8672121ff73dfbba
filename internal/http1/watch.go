package http1

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// source is what the connection's reader reads: the socket, after the
// bytes an event loop read before handing the connection over (prefix),
// and a byte the watcher may have read ahead (the start of a pipelined
// request).
type source struct {
	nc      net.Conn
	prefix  []byte
	pending byte
	has     bool
}

func (s *source) Read(p []byte) (int, error) {
	if len(s.prefix) > 0 {
		n := copy(p, s.prefix)
		s.prefix = s.prefix[n:]
		return n, nil
	}
	if s.has && len(p) > 0 {
		p[0], s.has = s.pending, false
		return 1, nil
	}
	return s.nc.Read(p)
}

// watcher notices a caller that goes away during a long call: once the
// request body is read and the call has run WatchAfter, it reads the
// connection; an error there (EOF, reset) cancels the request's context,
// so the call upstream is abandoned. net/http does this read for every
// request; most calls end long before WatchAfter.
type watcher struct {
	c       *conn
	mu      sync.Mutex
	timer   *time.Timer
	pending bool      // the timer is set to fire
	since   time.Time // when the current watch was armed
	armed   bool
	reading bool
	done    chan struct{}
}

var aLongTimeAgo = time.Unix(1, 0)

// testHookWatching, set by a test before its server starts, runs as a
// watch begins to read.
var testHookWatching func()

// arm starts the WatchAfter clock (once per request). The timer is not
// stopped by disarm: a short call leaves it pending, and when it fires it
// finds the watch disarmed, or re-armed by a later call and not yet due
// (then it waits the rest). So a busy connection moves no timer per call.
func (w *watcher) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.armed || w.c.br.Buffered() > 0 {
		return // already armed, or the next request is already here
	}
	w.armed = true
	w.since = time.Now()
	if w.pending {
		return
	}
	w.pending = true
	if w.timer == nil {
		w.timer = time.AfterFunc(w.c.s.WatchAfter, w.fire)
	} else {
		w.timer.Reset(w.c.s.WatchAfter)
	}
}

// fire runs on the timer's goroutine: if the armed call has run
// WatchAfter, it blocks reading until the caller sends a byte or goes, or
// disarm interrupts it.
func (w *watcher) fire() {
	w.mu.Lock()
	if !w.armed {
		w.pending = false
		w.mu.Unlock()
		return
	}
	if left := w.c.s.WatchAfter - time.Since(w.since); left > 0 {
		w.timer.Reset(left)
		w.mu.Unlock()
		return
	}
	w.pending = false
	w.reading = true
	w.done = make(chan struct{})
	done := w.done
	w.c.clearDeadline() // the loop's idle deadline must not end the watch
	w.mu.Unlock()
	defer close(done)
	if testHookWatching != nil {
		testHookWatching()
	}
	var b [1]byte
	n, err := w.c.nc.Read(b[:])
	if n == 1 {
		w.c.src.pending, w.c.src.has = b[0], true
	}
	if err != nil && !isTimeout(err) {
		w.c.cancel() // the caller is gone
	}
}

// disarm ends the watch, interrupting a read in progress.
func (w *watcher) disarm() {
	w.mu.Lock()
	if !w.armed {
		w.mu.Unlock()
		return
	}
	w.armed = false
	reading, done := w.reading, w.done
	w.reading = false
	w.mu.Unlock()
	if reading {
		w.c.nc.SetReadDeadline(aLongTimeAgo)
		<-done
		w.c.setDeadline(time.Time{})
	}
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}
