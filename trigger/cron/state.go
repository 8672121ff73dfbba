package cron

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// state remembers, per function and schedule, the last tick that was run
// (or, for a new entry, when it was first seen), so a restart knows which
// ticks it missed. It is one small JSON file replaced atomically.
type state struct {
	path string
	mu   sync.Mutex
	last map[string]time.Time
}

func loadState(path string) (*state, error) {
	s := &state{path: path, last: map[string]time.Time{}}
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cron state: %w", err)
	}
	if err := json.Unmarshal(b, &s.last); err != nil {
		return nil, fmt.Errorf("cron state %s: %w (delete it to start afresh)", path, err)
	}
	return s, nil
}

func (s *state) get(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.last[id]
	return t, ok
}

// set records t and writes the file: fsynced before the rename, so a
// crash leaves the old file or the new one, never a torn one.
func (s *state) set(id string, t time.Time, keep func(string) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last[id] = t
	for k := range s.last {
		if !keep(k) {
			delete(s.last, k)
		}
	}
	if s.path == "" {
		return nil
	}
	b, err := json.Marshal(s.last)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}
