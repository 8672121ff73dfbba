package builder

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// epoch is the timestamp of every tar entry and image field: builds must
// not depend on when they ran.
var epoch = time.Unix(0, 0).UTC()

// tarOwner says who owns the entries of a tar (images run as non-root and
// may need to write into /home/app; artifacts use 0:0).
type tarOwner struct{ uid, gid int }

// tarEntry is one file, folder or symlink to put in a tar.
type tarEntry struct {
	name    string // slash path inside the tar; folders end in "/"
	src     string // file on disk, for regular files
	mode    int64
	link    string // symlink target
	typ     byte
	content []byte // for generated files (src == "")
}

// dirEntries lists root's tree under prefix (e.g. "home/app/"), sorted.
// Only regular files, folders and symlinks are kept; modes are normalised
// to 0755/0644 so that umask and checkout tools do not change digests.
func dirEntries(root, prefix string) ([]tarEntry, error) {
	var out []tarEntry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		name := prefix + filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			out = append(out, tarEntry{name: name + "/", mode: 0o755, typ: tar.TypeDir})
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, tarEntry{name: name, mode: 0o777, link: target, typ: tar.TypeSymlink})
		case info.Mode().IsRegular():
			mode := int64(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			out = append(out, tarEntry{name: name, src: p, mode: mode, typ: tar.TypeReg})
		}
		return nil
	})
	return out, err
}

// writeTarGz writes entries, sorted by name, as a reproducible gzip'd tar:
// fixed times and owners, no user or group names, a gzip header with no
// name or time.
func writeTarGz(w io.Writer, entries []tarEntry, owner tarOwner) error {
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	zw.Header.ModTime = time.Time{}
	zw.Header.OS = 255 // "unknown", whatever the host
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{
			Typeflag: e.typ, Name: e.name, Linkname: e.link, Mode: e.mode,
			Uid: owner.uid, Gid: owner.gid, ModTime: epoch, Format: tar.FormatPAX,
		}
		var body io.Reader
		switch {
		case e.typ != tar.TypeReg:
		case e.src == "":
			h.Size = int64(len(e.content))
			body = bytes.NewReader(e.content)
		default:
			f, err := os.Open(e.src)
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			h.Size = st.Size()
			body = f
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar %s: %w", e.name, err)
		}
		if body != nil {
			if _, err := io.CopyN(tw, body, h.Size); err != nil {
				return fmt.Errorf("tar %s: %w", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// parentDirs returns folder entries for every parent of prefix ("home/app/"
// gives "home/" and "home/app/").
func parentDirs(prefix string, mode int64) []tarEntry {
	var out []tarEntry
	p := strings.TrimSuffix(prefix, "/")
	for p != "" && p != "." {
		out = append(out, tarEntry{name: p + "/", mode: mode, typ: tar.TypeDir})
		p = path.Dir(p)
	}
	return out
}
