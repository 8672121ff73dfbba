package watchdog

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// recorder wraps the ResponseWriter of one request: it stamps
// X-Duration-Seconds when the header goes out and remembers the status for
// the metrics. Recorders are pooled; the hot path allocates nothing here.
type recorder struct {
	http.ResponseWriter
	start   time.Time
	code    int
	written bool
	buf     [24]byte
}

var recorderPool = sync.Pool{New: func() any { return new(recorder) }}

func getRecorder(w http.ResponseWriter, start time.Time) *recorder {
	r := recorderPool.Get().(*recorder)
	r.ResponseWriter, r.start, r.code, r.written = w, start, 0, false
	return r
}

func putRecorder(r *recorder) {
	r.ResponseWriter = nil
	recorderPool.Put(r)
}

func (r *recorder) WriteHeader(code int) {
	if r.written {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		r.ResponseWriter.WriteHeader(code) // informational: the real header follows
		return
	}
	r.written, r.code = true, code
	secs := time.Since(r.start).Seconds()
	r.ResponseWriter.Header()["X-Duration-Seconds"] = []string{string(strconv.AppendFloat(r.buf[:0], secs, 'f', 6, 64))}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.written {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(p)
}

// Flush lets streamed responses (SSE, chunked) go out as they are written.
func (r *recorder) Flush() {
	if !r.written {
		r.WriteHeader(http.StatusOK)
	}
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer (full duplex,
// deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) status() int {
	if !r.written {
		return http.StatusOK
	}
	return r.code
}
