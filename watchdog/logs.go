package watchdog

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// newLogger is the watchdog's own logger on out, in cfg.LogFormat. Under
// ferry's supervisor (FERRY_READY_FD), which timestamps every line it
// captures, records carry no time of their own.
func newLogger(out io.Writer, cfg Config) *slog.Logger {
	opts := &slog.HandlerOptions{}
	if cfg.ReadyFD >= 0 {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	if strings.EqualFold(cfg.LogFormat, "json") {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(slog.NewTextHandler(out, opts))
}

// maxLogLine bounds one logged line; longer output is logged in pieces.
const maxLogLine = 64 * 1024

// maxCapture bounds the stderr kept for a fork's 500 answer.
const maxCapture = 64 * 1024

// lineLog turns a function's output stream into log lines: with prefix_logs
// each line is timestamped and prefixed with the stream name (as the OpenFaaS
// watchdogs do), without it lines are copied verbatim. It can also keep the
// first maxCapture bytes for an error answer.
type lineLog struct {
	w       *watchdog
	name    string
	mu      sync.Mutex
	partial []byte
	capture *bytes.Buffer
}

func (w *watchdog) functionLog(name string) *lineLog { return &lineLog{w: w, name: name} }

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.capture != nil && l.capture.Len() < maxCapture {
		l.capture.Write(p[:min(len(p), maxCapture-l.capture.Len())])
	}
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.partial = append(l.partial, p...)
			if len(l.partial) >= maxLogLine {
				l.emit(l.partial)
				l.partial = l.partial[:0]
			}
			break
		}
		if len(l.partial) > 0 {
			l.partial = append(l.partial, p[:i]...)
			l.emit(l.partial)
			l.partial = l.partial[:0]
		} else {
			l.emit(p[:i])
		}
		p = p[i+1:]
	}
	return n, nil
}

// Close logs a last line without newline.
func (l *lineLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.emit(l.partial)
		l.partial = nil
	}
	return nil
}

func (l *lineLog) emit(line []byte) {
	if l.w.cfg.PrefixLogs {
		l.w.fnlog.Printf("%s: %s", l.name, line)
		return
	}
	l.w.rawMu.Lock()
	out := l.w.fnlog.Writer()
	out.Write(append(line, '\n'))
	l.w.rawMu.Unlock()
}
