package watchdog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// forker is modes streaming and serializing: one process per request, the
// body on its stdin, its stdout as the response.
type forker struct {
	w       *watchdog
	argv    []string
	path    string   // resolved argv[0]
	devNull *os.File // stdin of body-less requests, opened once
}

// shellMeta are the characters that make fprocess a shell command line;
// without them it is split on spaces and run directly (no shell start-up
// cost per request).
const shellMeta = "|&;<>()$`\\\"' \t\n*?[#~=%{}"

func commandArgv(fprocess string) ([]string, error) {
	fields := strings.Fields(fprocess)
	if len(fields) == 0 {
		return nil, errors.New("fprocess is empty: set it to the function's command, e.g. fprocess=cat")
	}
	for _, f := range fields {
		if strings.ContainsAny(f, shellMeta) {
			return []string{"/bin/sh", "-c", fprocess}, nil
		}
	}
	return fields, nil
}

func newForker(w *watchdog) (*forker, error) {
	argv, err := commandArgv(w.cfg.FProcess)
	if err != nil {
		return nil, err
	}
	path, err := lookPath(argv[0], w.cfg.FunctionEnv)
	if err != nil {
		return nil, fmt.Errorf("fprocess %q: %w (install it or give its full path)", argv[0], err)
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	return &forker{w: w, argv: argv, path: path, devNull: devNull}, nil
}

// lookPath resolves name with the function's PATH, so the check at start
// matches what each request will run.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return exec.LookPath(name)
	}
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range strings.Split(p, ":") {
				if dir == "" {
					dir = "."
				}
				if path, err := exec.LookPath(dir + "/" + name); err == nil {
					return path, nil
				}
			}
			return "", exec.ErrNotFound
		}
	}
	return exec.LookPath(name)
}

func (f *forker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if d := f.w.cfg.ExecTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if f.w.cfg.Mode == ModeStreaming {
		// The function may read the body while its output already goes out.
		http.NewResponseController(w).EnableFullDuplex()
	}
	run, err := f.start(ctx, r)
	if err != nil {
		if isBodyErr(err) {
			http.Error(w, "cannot read request body: "+err.Error(), http.StatusBadRequest)
		} else {
			http.Error(w, "cannot start function: "+err.Error(), http.StatusInternalServerError)
		}
		return
	}
	if f.w.cfg.Mode == ModeSerializing {
		f.serialize(ctx, w, r, run)
	} else {
		f.stream(ctx, w, r, run)
	}
}

var outBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// serialize buffers the whole output and answers with its length.
func (f *forker) serialize(ctx context.Context, w http.ResponseWriter, r *http.Request, run *forkRun) {
	out := outBufPool.Get().(*bytes.Buffer)
	out.Reset()
	defer func() {
		if out.Cap() <= 1<<20 { // do not pin huge buffers
			outBufPool.Put(out)
		}
	}()
	_, rerr := out.ReadFrom(readerOnly{run.stdout})
	err := run.wait()
	if err == nil && rerr != nil && !isEOFish(rerr) {
		err = rerr
	}
	if err != nil {
		f.fail(ctx, w, r, err, run.stderr, out.Bytes())
		return
	}
	h := w.Header()
	if ct := f.w.cfg.ContentType; ct != "" {
		h["Content-Type"] = []string{ct}
	}
	h["Content-Length"] = []string{strconv.Itoa(out.Len())}
	w.WriteHeader(http.StatusOK)
	w.Write(out.Bytes())
}

// streamHold bounds how long (and how much of) a streaming function's
// output is held back before the 200 goes out: a function that writes a
// little and then exits non-zero, the common failure, still gets its 500,
// while a long stream starts at most this late.
const (
	streamHoldFor   = 20 * time.Millisecond
	streamHoldBytes = 32 << 10
)

// stream copies stdout to the response as it is produced. The status is held
// back until the process exits, or its output passes streamHoldBytes, or
// streamHoldFor has passed since its first byte: a process that fails
// within the hold still gets its 500 or 408.
func (f *forker) stream(ctx context.Context, w http.ResponseWriter, r *http.Request, run *forkRun) {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	held := outBufPool.Get().(*bytes.Buffer)
	held.Reset()
	defer func() {
		if held.Cap() <= 1<<20 {
			outBufPool.Put(held)
		}
	}()
	flusher, _ := w.(http.Flusher)
	var hold *time.Timer
	defer func() {
		if hold != nil {
			hold.Stop()
		}
	}()
	started, broken := false, false
	commit := func() {
		started = true
		if ct := f.w.cfg.ContentType; ct != "" {
			w.Header()["Content-Type"] = []string{ct}
		}
		if held.Len() > 0 {
			if _, werr := w.Write(held.Bytes()); werr != nil {
				broken = true
				killGroup(run.cmd)
			} else if flusher != nil {
				flusher.Flush()
			}
		}
	}
	for {
		n, rerr := run.stdout.Read(buf)
		switch {
		case n == 0 || broken:
		case !started:
			held.Write(buf[:n])
			if hold == nil {
				hold = time.AfterFunc(streamHoldFor, run.endHold)
			}
			if held.Len() >= streamHoldBytes {
				commit()
			}
		default:
			if _, werr := w.Write(buf[:n]); werr != nil {
				broken = true // keep draining so the process can finish
				killGroup(run.cmd)
			} else if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr != nil && run.holdEnded(rerr) {
			if !started {
				commit()
			}
			continue
		}
		if rerr != nil {
			break
		}
	}
	err := run.wait()
	switch {
	case err == nil && !started:
		commit()
		if held.Len() == 0 {
			w.WriteHeader(http.StatusOK)
		}
	case err == nil || broken:
	case !started:
		f.fail(ctx, w, r, err, run.stderr, held.Bytes())
	case r.Context().Err() != nil:
		// the caller hung up; the process was killed for it
	default:
		// Output already went out with 200: abort the response so the caller
		// sees a truncated answer instead of a complete-looking one.
		f.w.log.Warn("function failed after its output started", "method", r.Method, "path", r.URL.Path, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// fail answers a failed run: 408 when exec_timeout killed it, otherwise 500
// with the function's stderr (or its exit status).
func (f *forker) fail(ctx context.Context, w http.ResponseWriter, r *http.Request, err error, stderr *lineLog, combined []byte) {
	if r.Context().Err() != nil {
		return // the caller went away
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		http.Error(w, "function killed after exec_timeout="+f.w.cfg.ExecTimeout.String(), http.StatusRequestTimeout)
		return
	}
	msg := combined
	if stderr != nil {
		stderr.mu.Lock()
		if len(bytes.TrimSpace(stderr.capture.Bytes())) > 0 {
			msg = append([]byte(nil), stderr.capture.Bytes()...)
		}
		stderr.mu.Unlock()
	}
	if len(bytes.TrimSpace(msg)) == 0 {
		msg = []byte(err.Error() + "\n")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(msg)
}
