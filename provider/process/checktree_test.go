package process

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckTree(t *testing.T) {
	for name, links := range map[string]map[string]string{
		"in-tree links":  {"a/up": "..", "b": "a/up/a"},
		"absolute":       {"etc": "/etc"},
		"chain out":      {"d1/d2": "..", "l": "d1/d2/.."},
		"through a link": {"s": ".", "s/up": ".."},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "a"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "d1"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, at := range []string{"a/up", "d1/d2", "s", "b", "etc", "l", "s/up"} {
				if target, ok := links[at]; ok {
					if err := os.Symlink(target, filepath.Join(dir, at)); err != nil {
						t.Fatal(err)
					}
				}
			}
			err := CheckTree(dir)
			if ok := name == "in-tree links"; (err == nil) != ok {
				t.Fatalf("CheckTree: %v", err)
			}
		})
	}
}
