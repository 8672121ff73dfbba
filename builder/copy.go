package builder

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// copyFS copies the tree of fsys into dst, skipping the top-level names in
// skip. Executable bits survive (embedded files have none, so scripts are
// run through their interpreter in fprocess).
func copyFS(fsys fs.FS, dst string, skip map[string]bool) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return os.MkdirAll(dst, 0o755)
		}
		if top, _, _ := cutFirst(p); skip[top] {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			if lfs, ok := fsys.(fs.ReadLinkFS); ok {
				t, err := lfs.ReadLink(p)
				if err != nil {
					return err
				}
				return os.Symlink(t, target)
			}
		}
		if !info.Mode().IsRegular() && info.Mode()&fs.ModeSymlink == 0 {
			return nil
		}
		src, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		mode := os.FileMode(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, src); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// copyDir copies a folder on disk, symlinks included, leaving out the
// folder `exclude` (the build output when it sits inside the handler).
func copyDir(src, dst, exclude string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if exclude != "" && p == exclude {
			return filepath.SkipDir
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode()&fs.ModeSymlink != 0:
			return copyLink(src, p, target, exclude)
		case info.Mode().IsRegular():
			return copyFile(p, target, info.Mode())
		}
		return nil
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	perm := os.FileMode(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// cutFirst splits "a/b/c" into "a" and "b/c".
func cutFirst(p string) (string, string, bool) {
	dir := p
	for {
		parent := path.Dir(dir)
		if parent == "." || parent == "/" {
			return dir, p[len(dir):], dir != p
		}
		dir = parent
	}
}

// copyLink keeps a symlink that stays inside root (made relative, as the
// process runtime accepts no absolute or escaping links) and replaces one
// that leaves root by a copy of what it points to, so the artifact is
// self-contained. A dangling link is an error that names it.
func copyLink(root, link, target, exclude string) error {
	dest, err := filepath.EvalSymlinks(link)
	if err != nil {
		return fmt.Errorf("symlink %s points nowhere: fix or remove it", link)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(realRoot, dest); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		linkDir, err := filepath.EvalSymlinks(filepath.Dir(link))
		if err != nil {
			return err
		}
		r, err := filepath.Rel(linkDir, dest)
		if err != nil {
			return err
		}
		return os.Symlink(r, target)
	}
	st, err := os.Stat(dest)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return copyDir(dest, target, exclude)
	}
	return copyFile(dest, target, st.Mode())
}
