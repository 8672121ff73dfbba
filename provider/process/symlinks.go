package process

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxLinkHops is how many symlinks one path may pass through, as the
// kernel's MAXSYMLINKS (40).
const maxLinkHops = 40

// linkTree records an archive's symlinks where they really land, to judge
// them once every entry is in. A lexical check of each target alone is not
// enough: "d1/d2" -> ".." and "l" -> "d1/d2/.." each stay inside, but l,
// followed through d2, names the parent of the tree; so does "s/up" -> ".."
// created through "s" -> ".". A runtime that reads the tree with the
// host's path resolution (the wasm runtime's mounts) would follow them.
type linkTree map[string]string // real path in the tree -> target

// resolve follows p through the recorded links as the kernel would and
// returns where it lands, or ok false when it leaves the tree (or loops).
func (lt linkTree) resolve(p string) (string, bool) {
	todo := strings.Split(p, "/")
	var cur []string
	hops := 0
	for len(todo) > 0 {
		el := todo[0]
		todo = todo[1:]
		switch el {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return "", false
			}
			cur = cur[:len(cur)-1]
			continue
		}
		cur = append(cur, el)
		if t, ok := lt[strings.Join(cur, "/")]; ok {
			if hops++; hops > maxLinkHops {
				return "", false
			}
			cur = cur[:len(cur)-1]
			todo = append(strings.Split(t, "/"), todo...)
		}
	}
	return strings.Join(cur, "/"), true
}

// where is the real path that an entry named name is written to: its
// parent dirs may be links.
func (lt linkTree) where(name string) (string, bool) {
	dir, ok := lt.resolve(path.Dir(name))
	if !ok {
		return "", false
	}
	return path.Join(dir, path.Base(name)), true
}

// add records a symlink entry; drop forgets one replaced by a file.
func (lt linkTree) add(name, target string) bool {
	at, ok := lt.where(name)
	if ok {
		lt[at] = target
	}
	return ok
}

func (lt linkTree) drop(name string) {
	if at, ok := lt.where(name); ok {
		delete(lt, at)
	}
}

// check says which link, if any, leads out of the tree.
func (lt linkTree) check() error {
	for at := range lt {
		if _, ok := lt.resolve(at); !ok {
			return fmt.Errorf("symlink %q points outside the archive (through other symlinks)", short(at))
		}
	}
	return nil
}

// CheckTree judges the symlinks of an unpacked tree as an archive's are
// judged at upload: for a runtime that reads the tree with the host's path
// resolution, on trees unpacked before that judgement was made.
func CheckTree(dir string) error {
	lt := linkTree{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.Type()&fs.ModeSymlink == 0 {
			return err
		}
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if path.IsAbs(target) {
			return fmt.Errorf("symlink %q points outside the tree (to an absolute path)", short(rel))
		}
		lt[filepath.ToSlash(rel)] = target
		return nil
	})
	if err != nil {
		return err
	}
	return lt.check()
}
