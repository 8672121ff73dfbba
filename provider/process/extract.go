package process

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/ferryfaas/ferry/api"
)

type extractLimits struct {
	maxBytes int64 // unpacked bytes
	maxFiles int
}

// extract reads a gzip'd tar and, when root is not nil, writes it there.
// With root nil it only validates (on upload). It rejects absolute paths,
// "..", symlinks pointing outside the tree (alone or followed through
// each other), hard links to anything but an
// earlier regular file, devices and fifos, and archives over the limits.
// os.Root keeps every write inside the tree even through in-tree symlinks.
func extract(r io.Reader, root *os.Root, lim extractLimits) error {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return api.BadRequest("artifact is not gzip'd: send a .tar.gz of the function's code")
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return api.BadRequest("artifact is not a valid gzip stream: %w", err)
	}
	tr := tar.NewReader(zr)
	var total int64
	files := 0
	regular := map[string]bool{}
	links := linkTree{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return api.BadRequest("artifact is not a valid tar.gz: %w", err)
		}
		files++
		if files > lim.maxFiles {
			return api.BadRequest("artifact has more than %d entries", lim.maxFiles)
		}
		name, err := cleanEntry(h.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		bad := func(why string) error {
			return api.BadRequest("artifact entry %q: %s", short(h.Name), why)
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			if h.Size < 0 {
				return bad("negative size")
			}
			total += h.Size
			if total > lim.maxBytes {
				return api.BadRequest("artifact unpacks to more than %d bytes", lim.maxBytes)
			}
			if root != nil {
				if err := writeEntry(root, name, h, tr); err != nil {
					return fmt.Errorf("unpack %q: %w", name, err)
				}
			}
			regular[name] = true
			links.drop(name)
		case tar.TypeDir:
			if root != nil {
				if err := root.MkdirAll(name, 0o755); err != nil {
					return fmt.Errorf("unpack %q: %w", name, err)
				}
			}
		case tar.TypeSymlink:
			t := h.Linkname
			if t == "" || path.IsAbs(t) || strings.ContainsRune(t, 0) {
				return bad("symlink target " + fmt.Sprintf("%q", short(t)) + " must be a relative path inside the archive")
			}
			if j := path.Join(path.Dir(name), t); j == ".." || strings.HasPrefix(j, "../") {
				return bad("symlink points outside the archive")
			}
			if !links.add(name, t) {
				return bad("symlink is created through a symlink that points outside the archive")
			}
			if root != nil {
				if err := mkParent(root, name); err != nil {
					return err
				}
				root.Remove(name)
				if err := root.Symlink(t, name); err != nil {
					return fmt.Errorf("unpack %q: %w", name, err)
				}
			}
		case tar.TypeLink:
			target, err := cleanEntry(h.Linkname)
			if err != nil || !regular[target] {
				return bad("hard links may only point to an earlier regular file of the archive")
			}
			if root != nil {
				if err := mkParent(root, name); err != nil {
					return err
				}
				root.Remove(name)
				if err := root.Link(target, name); err != nil {
					return fmt.Errorf("unpack %q: %w", name, err)
				}
			}
			regular[name] = true
			links.drop(name)
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return bad("device and fifo entries are not allowed")
		case tar.TypeXGlobalHeader:
		default:
			return bad(fmt.Sprintf("entry type %q is not allowed", h.Typeflag))
		}
	}
	if err := links.check(); err != nil {
		return api.BadRequest("artifact: %w", err)
	}
	// Drain the gzip trailer so a truncated upload is caught.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return api.BadRequest("artifact is not a valid tar.gz: %w", err)
	}
	return nil
}

// cleanEntry normalises an archive path and rejects ones that could leave
// the tree.
func cleanEntry(name string) (string, error) {
	if strings.ContainsRune(name, 0) || strings.ContainsRune(name, '\\') {
		return "", api.BadRequest("artifact entry %q: invalid characters in the path", short(name))
	}
	if path.IsAbs(name) {
		return "", api.BadRequest("artifact entry %q: absolute paths are not allowed", short(name))
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", api.BadRequest("artifact entry %q: \"..\" is not allowed in paths", short(name))
		}
	}
	if len(name) > 4096 {
		return "", api.BadRequest("artifact entry path is longer than 4096 bytes")
	}
	return path.Clean(name), nil
}

func mkParent(root *os.Root, name string) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("unpack %q: %w", name, err)
		}
	}
	return nil
}

func writeEntry(root *os.Root, name string, h *tar.Header, r io.Reader) error {
	if err := mkParent(root, name); err != nil {
		return err
	}
	// Keep the executable bits, drop setuid/setgid/sticky and write access
	// for others; the owner can always read and write.
	mode := os.FileMode(h.Mode).Perm()&0o755 | 0o600
	// A symlink left by an earlier entry is replaced, not written through.
	if fi, err := root.Lstat(name); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		root.Remove(name)
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, h.Size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != h.Size {
		err = errors.New("archive ends early")
	}
	if err == nil {
		err = root.Chmod(name, mode)
	}
	return err
}
