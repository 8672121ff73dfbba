package process

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The ring keeps the last N lines; the files stay under their cap and give
// the newest lines back after a restart.
func TestLogBookBoundedAndReloaded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "fn.log")
	const capBytes = 8 << 10
	b := openLogBook(path, 50, capBytes)
	for i := range 1000 {
		b.add("fn-0", 42, fmt.Sprintf("line %04d", i))
	}
	lines, _ := b.snapshot(false)
	if len(lines) != 50 || lines[0].Text != "line 0950" || lines[49].Text != "line 0999" {
		t.Fatalf("ring: %d lines, first %q last %q", len(lines), lines[0].Text, lines[len(lines)-1].Text)
	}
	b.close()
	var total int64
	for _, p := range []string{path, path + ".1"} {
		if fi, err := os.Stat(p); err == nil {
			total += fi.Size()
		}
	}
	if total == 0 || total > capBytes {
		t.Fatalf("log files hold %d bytes, cap %d", total, capBytes)
	}
	again := openLogBook(path, 50, capBytes)
	lines, _ = again.snapshot(false)
	if len(lines) != 50 || lines[49].Text != "line 0999" || lines[49].Inst != "fn-0" {
		t.Fatalf("after reload: %d lines, last %+v", len(lines), lines[len(lines)-1])
	}
	again.remove()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("remove left %s", path)
	}
}
