package process

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// logEntry is one captured output line of a replica.
type logEntry struct {
	T    time.Time `json:"t"`
	Inst string    `json:"i"`
	PID  int       `json:"p"`
	Text string    `json:"x"`
}

// logBook keeps a function's recent log lines in a bounded ring and appends
// them to a size-capped file (DATA/logs/<ns>/<name>.log plus one rotated
// .1 file) so that they survive a restart.
type logBook struct {
	path    string
	maxFile int64

	mu      sync.Mutex
	ring    []logEntry // grows to max, then wraps
	max     int
	next    int // ring index of the next write once full
	full    bool
	file    *os.File
	size    int64
	subs    map[chan logEntry]struct{}
	closed  bool // no more file writes
	removed bool
}

func openLogBook(path string, lines int, maxFile int64) *logBook {
	b := &logBook{path: path, maxFile: maxFile, max: lines, subs: map[chan logEntry]struct{}{}}
	// Reload what the previous run wrote, oldest first.
	for _, p := range []string{path + ".1", path} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e logEntry
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				b.push(e)
			}
		}
		f.Close()
	}
	return b
}

func (b *logBook) push(e logEntry) {
	if !b.full {
		b.ring = append(b.ring, e)
		b.full = len(b.ring) == b.max
		return
	}
	b.ring[b.next] = e
	b.next = (b.next + 1) % b.max
}

// add records a line and hands it to followers (never blocking capture: a
// follower that falls more than its buffer behind loses lines).
func (b *logBook) add(inst string, pid int, text string) {
	e := logEntry{T: time.Now().UTC(), Inst: inst, PID: pid, Text: text}
	line, _ := json.Marshal(e)
	line = append(line, '\n')
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.removed {
		return
	}
	b.push(e)
	for c := range b.subs {
		select {
		case c <- e:
		default:
		}
	}
	if !b.closed {
		b.writeLocked(line)
	}
}

func (b *logBook) writeLocked(line []byte) {
	if b.file != nil && b.size+int64(len(line)) > b.maxFile/2 {
		b.file.Close()
		b.file = nil
		os.Rename(b.path, b.path+".1")
	}
	if b.file == nil {
		os.MkdirAll(filepath.Dir(b.path), 0o700)
		f, err := os.OpenFile(b.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return
		}
		fi, _ := f.Stat()
		b.file, b.size = f, fi.Size()
	}
	n, _ := b.file.Write(line)
	b.size += int64(n)
}

// snapshot returns the ring's lines, oldest first, and optionally
// subscribes to new ones atomically (no line lost or repeated in between).
func (b *logBook) snapshot(follow bool) ([]logEntry, chan logEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]logEntry, 0, len(b.ring))
	out = append(out, b.ring[b.next:]...) // next is 0 until the ring is full
	out = append(out, b.ring[:b.next]...)
	var c chan logEntry
	if follow {
		c = make(chan logEntry, 1024)
		if b.removed {
			close(c)
		} else {
			b.subs[c] = struct{}{}
		}
	}
	return out, c
}

func (b *logBook) unsubscribe(c chan logEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[c]; ok {
		delete(b.subs, c)
		close(c)
	}
}

// close ends followers and closes the file (provider closing).
func (b *logBook) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for c := range b.subs {
		delete(b.subs, c)
		close(c)
	}
	if b.file != nil {
		b.file.Close()
		b.file = nil
	}
}

// remove is close plus deleting the files (function deleted).
func (b *logBook) remove() {
	b.close()
	b.mu.Lock()
	b.removed = true
	b.mu.Unlock()
	os.Remove(b.path)
	os.Remove(b.path + ".1")
}

// Logs streams a function's log lines: the last req.Tail lines (all when
// negative) since req.Since from req.Instance (a "<name>-<n>" instance or a
// pid), then, with req.Follow, new lines until ctx ends.
func (p *Provider) Logs(ctx context.Context, req api.LogRequest) (<-chan api.LogMessage, error) {
	ns := req.Namespace
	if ns == "" {
		ns = p.cfg.DefaultNamespace
	}
	f := p.lookup(ns, req.Name)
	if f == nil {
		return nil, api.NotFound("function", req.Name)
	}
	match := func(e logEntry) bool {
		if req.Since != nil && e.T.Before(*req.Since) {
			return false
		}
		return req.Instance == "" || e.Inst == req.Instance || strconv.Itoa(e.PID) == req.Instance
	}
	hist, sub := f.logs.snapshot(req.Follow)
	kept := hist[:0:0]
	for _, e := range hist {
		if match(e) {
			kept = append(kept, e)
		}
	}
	if req.Tail >= 0 && len(kept) > req.Tail {
		kept = kept[len(kept)-req.Tail:]
	}
	out := make(chan api.LogMessage, 64)
	msg := func(e logEntry) api.LogMessage {
		return api.LogMessage{Name: f.name, Namespace: f.ns, Instance: e.Inst, Timestamp: e.T, Text: e.Text}
	}
	go func() {
		defer close(out)
		if sub != nil {
			defer f.logs.unsubscribe(sub)
		}
		for _, e := range kept {
			select {
			case out <- msg(e):
			case <-ctx.Done():
				return
			}
		}
		if sub == nil {
			return
		}
		for {
			select {
			case e, ok := <-sub:
				if !ok {
					return
				}
				if !match(e) {
					continue
				}
				select {
				case out <- msg(e):
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
