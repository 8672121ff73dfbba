package watchdog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// forker is modes streaming and serializing: one process per request, the
// body on its stdin, its stdout as the response.
type forker struct {
	w    *watchdog
	argv []string
	path string // resolved argv[0]
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
	return &forker{w: w, argv: argv, path: path}, nil
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
	var cancel context.CancelFunc = func() {}
	if d := f.w.cfg.ExecTimeout; d > 0 {
		ctx, cancel = context.WithTimeout(ctx, d)
	}
	defer cancel()

	cmd := exec.CommandContext(ctx, f.path)
	cmd.Args = f.argv
	cmd.Env = requestEnv(f.w.cfg.FunctionEnv, r)
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = time.Second // grandchildren holding pipes must not hang Wait

	stderr := f.w.functionLog("stderr")
	stderr.capture = new(bytes.Buffer)
	defer stderr.Close()
	if f.w.cfg.CombineOutput {
		// stderr joins stdout in the response (and is not logged)
		stderr = nil
	} else {
		cmd.Stderr = stderr
	}

	if f.w.cfg.Mode == ModeSerializing {
		f.serialize(ctx, w, r, cmd, stderr)
	} else {
		f.stream(ctx, w, r, cmd, stderr)
	}
}

// serialize buffers the whole body and the whole output.
func (f *forker) serialize(ctx context.Context, w http.ResponseWriter, r *http.Request, cmd *exec.Cmd, stderr *lineLog) {
	if r.ContentLength != 0 {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "cannot read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		cmd.Stdin = bytes.NewReader(body)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if stderr == nil {
		cmd.Stderr = &out
	}
	if err := cmd.Run(); err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		f.fail(ctx, w, r, err, stderr, out.Bytes())
		return
	}
	h := w.Header()
	if ct := f.w.cfg.ContentType; ct != "" {
		h.Set("Content-Type", ct)
	}
	h.Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(out.Bytes())
}

// stream copies stdout to the response as it is produced. The status is held
// back until the first byte, so a process that fails before writing anything
// still gets its 500 or 408.
func (f *forker) stream(ctx context.Context, w http.ResponseWriter, r *http.Request, cmd *exec.Cmd, stderr *lineLog) {
	// The function reads the body while we already write its output.
	http.NewResponseController(w).EnableFullDuplex()
	if r.ContentLength != 0 {
		cmd.Stdin = r.Body
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		http.Error(w, "cannot create stdout pipe: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if stderr == nil {
		cmd.Stderr = cmd.Stdout
	}
	if err := cmd.Start(); err != nil {
		http.Error(w, "cannot start function: "+err.Error(), http.StatusInternalServerError)
		return
	}
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	flusher, _ := w.(http.Flusher)
	started, broken := false, false
	for {
		n, rerr := stdout.Read(buf)
		if n > 0 && !broken {
			if !started {
				started = true
				if ct := f.w.cfg.ContentType; ct != "" {
					w.Header().Set("Content-Type", ct)
				}
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				broken = true // keep draining so the process can finish
				killGroup(cmd)
			} else if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr != nil {
			break
		}
	}
	err = cmd.Wait()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // exited 0; only a leftover grandchild held a pipe
	}
	switch {
	case err == nil && !started:
		if ct := f.w.cfg.ContentType; ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(http.StatusOK)
	case err == nil || broken:
	case !started:
		f.fail(ctx, w, r, err, stderr, nil)
	case r.Context().Err() != nil:
		// the caller hung up; the process was killed for it
	default:
		// Output already went out with 200: abort the response so the caller
		// sees a truncated answer instead of a complete-looking one.
		f.w.log.Printf("function failed after its output started (%s %s): %v", r.Method, r.URL.Path, err)
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
		msg = append([]byte(nil), stderr.capture.Bytes()...)
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
