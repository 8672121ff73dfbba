package cli

import (
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/stack"
	"github.com/spf13/cobra"
)

// watchPoll is how often `ferry up --watch` looks for changes. Polling
// needs nothing from the platform and a handler folder is small; a change
// is acted on once two polls agree, so a save in progress is not built.
var watchPoll = 500 * time.Millisecond

// watchStack redeploys, through up, each function whose handler folder
// changes, and every function when the stack file changes, until the
// command's context ends or Ctrl+C.
func watchStack(cmd *cobra.Command, file string, up func(only map[string]bool) error) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	out := cmd.OutOrStdout()
	last, err := fingerprints(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Watching %s and its handler folders for changes (Ctrl+C stops)\n", file)
	var pending map[string]uint64 // a change seen once, waiting to settle
	t := time.NewTicker(watchPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now, err := fingerprints(file)
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "ferry up --watch: %v\n", err)
			continue
		}
		if equalPrints(now, last) {
			pending = nil
			continue
		}
		if pending == nil || !equalPrints(now, pending) {
			pending = now // not settled yet: look again at the next poll
			continue
		}
		var only map[string]bool // nil: the stack file changed, all of them
		if now[file] == last[file] {
			only = map[string]bool{}
			for name, h := range now {
				if h != last[name] {
					only[name] = true
				}
			}
		}
		last, pending = now, nil
		fmt.Fprintf(out, "Change detected in %s: redeploying\n", describeChange(only))
		if err := up(only); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "ferry up: %v (fix it and save again)\n", err)
		}
	}
}

func describeChange(only map[string]bool) string {
	if only == nil {
		return "the stack file"
	}
	names := make([]string, 0, len(only))
	for n := range only {
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// fingerprints hashes the stack file (key: its path) and each function's
// handler folder (key: the function's name) by file names, sizes and
// modification times.
func fingerprints(file string) (map[string]uint64, error) {
	prints := map[string]uint64{}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	fmt.Fprint(h, fi.Size(), fi.ModTime().UnixNano())
	prints[file] = h.Sum64()
	st, err := stack.Load(file, os.LookupEnv)
	if err != nil {
		return prints, nil // a broken stack file waits for its next save
	}
	for _, fn := range st.Functions {
		if fn.Handler == "" {
			continue
		}
		dir := filepath.Join(st.Dir, fn.Handler)
		h := fnv.New64a()
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			name := d.Name()
			if d.IsDir() && p != dir && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "build" || name == "__pycache__") {
				return filepath.SkipDir
			}
			if info, err := d.Info(); err == nil && !d.IsDir() {
				fmt.Fprint(h, p, info.Size(), info.ModTime().UnixNano())
			}
			return nil
		})
		prints[fn.Name] = h.Sum64()
	}
	return prints, nil
}

func equalPrints(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
