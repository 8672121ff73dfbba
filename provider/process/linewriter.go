package process

import (
	"bytes"
	"strings"
	"sync"
)

// LineWriter hands one stream's complete lines to Emit: what a Runtime
// whose replicas write to an io.Writer gives ReplicaSpec.Output.
type LineWriter struct {
	Emit func(string)
	mu   sync.Mutex
	buf  []byte
}

func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.Emit(strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 16<<10 {
		// An over-long line: keep its start, skip the rest.
		w.Emit(string(w.buf[:16<<10]) + " [truncated]")
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// Flush emits what is left of a last line without its newline.
func (w *LineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.Emit(strings.TrimRight(string(w.buf), "\r"))
		w.buf = w.buf[:0]
	}
}
