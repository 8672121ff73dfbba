package watchdog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"time"
)

// inlineBody is the largest body written into the stdin pipe before the
// process starts: a pipe always holds at least one page, so this write
// cannot block. Larger bodies are copied by a goroutine.
const inlineBody = 4096

// defaultExitGrace is how long stdout may stay open after the process
// exited (a background grandchild holding it) before the response ends.
const defaultExitGrace = time.Second

var smallBufPool = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// forkRun is one forked function process. Its stdin, stdout and stderr are
// pipes the watchdog owns: os/exec then starts no copying goroutines of its
// own and allocates no 32 KiB buffers per request.
type forkRun struct {
	cmd    *exec.Cmd
	stdout *os.File // read end of the function's stdout
	// dl orders the two users of stdout's read deadline: the exit grace
	// (set once the process exited) and the streaming hold (see stream).
	dl struct {
		sync.Mutex
		grace     time.Time // set once the process exited
		holdFired bool      // the hold's deadline, not the grace, ended a read
	}
	stderr  *lineLog      // nil when combine_output sends stderr to stdout
	errDone chan struct{} // closed when stderr is fully logged
	exit    chan error    // the process's exit
}

// start forks the function for r. ctx bounds it: when ctx ends, the whole
// process group is killed.
func (f *forker) start(ctx context.Context, r *http.Request) (*forkRun, error) {
	cmd := exec.CommandContext(ctx, f.path)
	cmd.Args = f.argv
	cmd.Env = RequestEnv(f.w.cfg.FunctionEnv, r)
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd) }

	var childEnds []*os.File // closed in the watchdog once the child has them
	var ours []*os.File      // closed on failure
	fail := func(err error) (*forkRun, error) {
		for _, f := range append(childEnds, ours...) {
			f.Close()
		}
		return nil, err
	}

	// stdin
	var bodyCopy func()
	switch cl := r.ContentLength; {
	case cl == 0:
		cmd.Stdin = f.devNull
	default:
		pr, pw, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		childEnds, ours = append(childEnds, pr), append(ours, pw)
		cmd.Stdin = pr
		if cl > 0 && cl <= inlineBody {
			bp := smallBufPool.Get().(*[]byte)
			n, err := io.ReadFull(r.Body, (*bp)[:cl])
			if err == nil {
				_, err = pw.Write((*bp)[:n])
			}
			smallBufPool.Put(bp)
			pw.Close()
			if err != nil {
				return fail(errBody{err})
			}
		} else {
			// serializing reads the whole body first (the handler never
			// touches r.Body after it returns); streaming feeds it as it comes.
			var body io.Reader = r.Body
			if f.w.cfg.Mode == ModeSerializing {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					return fail(errBody{err})
				}
				body = bytes.NewReader(b)
			}
			bodyCopy = func() {
				bp := copyBufPool.Get().(*[]byte)
				io.CopyBuffer(writerOnly{pw}, readerOnly{body}, *bp) // EPIPE when the function stops reading: fine
				copyBufPool.Put(bp)
				pw.Close()
			}
		}
	}

	// stdout, and stderr either logged or joined to stdout
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	childEnds, ours = append(childEnds, outW), append(ours, outR)
	cmd.Stdout = outW
	run := &forkRun{cmd: cmd, stdout: outR, exit: make(chan error, 1), errDone: make(chan struct{})}
	var errR *os.File
	if f.w.cfg.CombineOutput {
		cmd.Stderr = outW
		close(run.errDone)
	} else {
		var errW *os.File
		if errR, errW, err = os.Pipe(); err != nil {
			return fail(err)
		}
		childEnds, ours = append(childEnds, errW), append(ours, errR)
		cmd.Stderr = errW
		run.stderr = f.w.functionLog("stderr")
		run.stderr.capture = new(bytes.Buffer)
	}

	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	for _, f := range childEnds {
		f.Close()
	}
	if bodyCopy != nil {
		go bodyCopy()
	}
	if errR != nil {
		go func() {
			bp := smallBufPool.Get().(*[]byte)
			io.CopyBuffer(run.stderr, readerOnly{errR}, *bp)
			smallBufPool.Put(bp)
			errR.Close()
			run.stderr.Close()
			close(run.errDone)
		}()
	}
	go func() {
		err := cmd.Wait()
		// A grandchild may keep the pipes open: give it exitGrace, then the
		// reads end.
		grace := f.w.cfg.exitGrace
		if grace <= 0 {
			grace = defaultExitGrace
		}
		deadline := time.Now().Add(grace)
		run.dl.Lock()
		run.dl.grace = deadline
		outR.SetReadDeadline(deadline)
		run.dl.Unlock()
		if errR != nil {
			errR.SetReadDeadline(deadline)
		}
		run.exit <- err
	}()
	return run, nil
}

// wait returns the process's exit once stdout was read to its end, with
// stderr fully logged. Whatever the function left running in its process
// group is killed: a request's processes end with the request.
func (run *forkRun) wait() error {
	err := <-run.exit
	<-run.errDone
	run.stdout.Close()
	killGroup(run.cmd)
	return err
}

// endHold makes a pending stdout read return now, unless the process
// already exited (its output is then complete: nothing to wait for).
func (run *forkRun) endHold() {
	run.dl.Lock()
	defer run.dl.Unlock()
	if run.dl.grace.IsZero() {
		run.dl.holdFired = true
		run.stdout.SetReadDeadline(time.Unix(1, 0))
	}
}

// holdEnded reports whether err is the hold's deadline (then the read
// deadline goes back to the exit grace, or none) rather than the grace's.
func (run *forkRun) holdEnded(err error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	run.dl.Lock()
	defer run.dl.Unlock()
	if !run.dl.holdFired {
		return false
	}
	run.dl.holdFired = false
	run.stdout.SetReadDeadline(run.dl.grace)
	return true
}

// errBody marks a failure to read the caller's request body.
type errBody struct{ error }

func isBodyErr(err error) bool {
	var eb errBody
	return errors.As(err, &eb)
}

// isEOFish ends a stdout read loop: EOF, or the exitGrace deadline.
func isEOFish(err error) bool {
	return err == io.EOF || errors.Is(err, os.ErrDeadlineExceeded)
}

// readerOnly and writerOnly hide WriterTo/ReaderFrom so io.CopyBuffer uses
// the pooled buffer instead of allocating one.
type readerOnly struct{ io.Reader }

type writerOnly struct{ io.Writer }
