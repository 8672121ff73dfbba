package process

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Every data dir on a machine gets a block of uids of its own for its
// functions. Two Ferry servers handing out the same uids would let one's
// functions read the other's secrets and signal its processes, so the
// blocks are recorded machine-wide, in a registry file under an exclusive
// lock: one line "INDEX DATA-DIR" per block.
const (
	// DefaultUIDRegistry is where the blocks are recorded.
	DefaultUIDRegistry = "/var/lib/ferry/uid-blocks"
	// uidBlockSize uids per data dir, from uidBase: above the usual
	// /etc/subuid ranges of rootless containers (100000 + 65536 per user)
	// and below 2^31, which some tools read as signed.
	uidBlockSize = 1 << 16
	uidBase      = 1 << 24
	uidBlocks    = (1<<31 - uidBase) / uidBlockSize
)

// claimUIDBlock returns the first uid of dataDir's block in the registry
// at path, claiming a free block for it the first time. Entries of data
// dirs that were deleted (the dir is gone, its parent is there) are freed;
// one on a volume that is not mounted stays claimed.
func claimUIDBlock(path, dataDir string) (int, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, fmt.Errorf("uid registry: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("uid registry: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return 0, fmt.Errorf("uid registry %s: lock: %w", path, err)
	}
	owners, err := readUIDBlocks(f)
	if err != nil {
		return 0, fmt.Errorf("uid registry %s: %w", path, err)
	}
	mine := -1
	for i, dir := range owners {
		switch {
		case dir == dataDir:
			mine = i
		case gone(dir):
			delete(owners, i)
		}
	}
	if mine < 0 {
		for i := 0; i < uidBlocks; i++ {
			if _, taken := owners[i]; !taken {
				mine = i
				break
			}
		}
		if mine < 0 {
			return 0, fmt.Errorf("uid registry %s: all %d uid blocks are taken: remove the lines of data dirs no longer used", path, uidBlocks)
		}
		owners[mine] = dataDir
	}
	var b bytes.Buffer
	for i := 0; i < uidBlocks; i++ {
		if dir, ok := owners[i]; ok {
			fmt.Fprintf(&b, "%d %s\n", i, dir)
		}
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(b.Bytes(), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return 0, fmt.Errorf("uid registry %s: %w", path, err)
	}
	return uidBase + mine*uidBlockSize, nil
}

func readUIDBlocks(f *os.File) (map[int]string, error) {
	owners := map[int]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		idx, dir, ok := strings.Cut(sc.Text(), " ")
		i, err := strconv.Atoi(idx)
		if !ok || err != nil || i < 0 || i >= uidBlocks || !filepath.IsAbs(dir) {
			return nil, fmt.Errorf("line %d: %q is not \"INDEX DATA-DIR\"", n, sc.Text())
		}
		owners[i] = dir
	}
	return owners, sc.Err()
}

// gone reports a data dir that was deleted: it is missing while its parent
// is there (a dir on an unmounted volume keeps its block).
func gone(dir string) bool {
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		return false
	}
	_, err := os.Stat(filepath.Dir(dir))
	return err == nil
}

// inBlock reports whether uid belongs to this provider's block.
func (p *Provider) inBlock(uid int) bool {
	return uid >= p.uidBase && uid < p.uidBase+p.uidCount()
}

// uidCount is how many uids of its block the data dir gives (tests: fewer).
func (p *Provider) uidCount() int {
	if p.cfg.uidCount > 0 {
		return min(p.cfg.uidCount, uidBlockSize)
	}
	return uidBlockSize
}
