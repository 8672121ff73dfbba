package containerd

import (
	"strings"
	"sync"
)

// tail keeps the last lines a container wrote, for exit messages.
type tail struct {
	mu    sync.Mutex
	lines []string
	part  []byte
}

const tailLines = 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, p...)
	for {
		i := strings.IndexByte(string(t.part), '\n')
		if i < 0 {
			break
		}
		t.add(string(t.part[:i]))
		t.part = t.part[i+1:]
	}
	if len(t.part) > 4096 { // a line without end: keep its start only
		t.add(string(t.part[:4096]))
		t.part = t.part[:0]
	}
	return len(p), nil
}

func (t *tail) add(l string) {
	t.lines = append(t.lines, l)
	if len(t.lines) > tailLines {
		t.lines = t.lines[len(t.lines)-tailLines:]
	}
}

// text is "" or "; last output:\n..." to append to an error.
func (t *tail) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if len(t.part) > 0 {
		lines = append(lines[:len(lines):len(lines)], string(t.part))
	}
	if len(lines) == 0 {
		return ""
	}
	return "; last output:\n" + strings.Join(lines, "\n")
}
