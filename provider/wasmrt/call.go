package wasmrt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/watchdog"
	"github.com/tetratelabs/wazero/sys"
)

// maxOutput caps what one call may write to stdout or stderr: the guest's
// memory is capped, but what it writes lands in the host's.
const maxOutput = 32 << 20

// bufs recycles the buffers of stdin, stdout and stderr across calls.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { return bufs.Get().(*bytes.Buffer) }

func putBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // a rare big call must not pin its memory
	}
	b.Reset()
	bufs.Put(b)
}

// handler runs each call in a fresh instance of the version's module.
type handler struct {
	v      *version
	kill   context.Context // done: the replica is killed, abort the call
	output func(pid int, line string)
	budget *Budget // the server's, shared by all wasm functions
	use    *usage  // the replica's
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in, out, errb := getBuf(), getBuf(), getBuf()
	defer putBuf(in)
	defer putBuf(out)
	defer putBuf(errb)
	if _, err := in.ReadFrom(r.Body); err != nil {
		http.Error(w, "cannot read request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if t := h.v.cfg.ExecTimeout; t > 0 {
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	defer context.AfterFunc(h.kill, cancel)()

	mc := h.v.base.WithStdin(in).WithStdout(&capped{b: out}).WithStderr(&capped{b: errb}).WithNanosleep(sleepWithin(ctx))
	for _, kv := range watchdog.RequestEnv(h.v.env, r) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			mc = mc.WithEnv(k, v)
		}
	}
	l := h.admit(ctx, w)
	if l == nil {
		return
	}
	defer l.release()
	err := h.v.run(ctx, mc, l.withMemory)
	l.release()
	h.log(errb.Bytes())
	if err == nil {
		if ct := h.v.cfg.ContentType; ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(http.StatusOK)
		w.Write(out.Bytes())
		return
	}
	switch {
	case r.Context().Err() != nil:
		return // the caller went away; its call was stopped
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		http.Error(w, "function stopped after exec_timeout="+h.v.cfg.ExecTimeout.String(), http.StatusRequestTimeout)
		return
	case h.kill.Err() != nil:
		http.Error(w, "function stopped: its replica is shutting down", http.StatusServiceUnavailable)
		return
	case l.refused() > 0:
		h.refuse(w, l.refused(), "more")
		return
	}
	// A non-zero exit or a trap: 500 with what it said, as the fork modes.
	msg := errb.Bytes()
	if len(bytes.TrimSpace(msg)) == 0 {
		msg = out.Bytes()
	}
	var ee *sys.ExitError
	if len(bytes.TrimSpace(msg)) == 0 || !errors.As(err, &ee) {
		msg = append(append(msg[:len(msg):len(msg)], err.Error()...), '\n')
		if strings.Contains(err.Error(), "unreachable") {
			msg = fmt.Appendf(msg, "(the guest reached an unreachable instruction, or its calls nested deeper than %d)\n", maxCallDepth)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(msg)
}

// log hands the call's stderr to the function's log, line by line.
func (h *handler) log(b []byte) {
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte{'\n'})
		h.output(0, strings.TrimRight(string(line), "\r"))
		b = rest
	}
}

// capped is a buffer that refuses writes past maxOutput (the guest sees
// an I/O error, as on a full disk).
type capped struct{ b *bytes.Buffer }

var errOutputFull = errors.New("output over 32 MiB")

func (c *capped) Write(p []byte) (int, error) {
	if c.b.Len()+len(p) > maxOutput {
		return 0, errOutputFull
	}
	return c.b.Write(p)
}

// sleepWithin is a guest's sleep, cut short when its call ends: a sleeping
// guest runs no code at which the runtime could stop it at exec_timeout,
// and would hold its max_inflight slot and its memory for as long as it
// asked to sleep.
func sleepWithin(ctx context.Context) sys.Nanosleep {
	return func(ns int64) {
		t := time.NewTimer(time.Duration(ns))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}
