package builder

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
)

// FindWatchdog locates the static watchdog to put in images when
// Options.WatchdogBinary is empty: $FERRY_WATCHDOG, then `watchdog` or
// `fwatchdog` beside the running ferry binary (scripts/build.sh puts
// bin/ferry and bin/watchdog together), then `fwatchdog` on PATH.
func FindWatchdog() (string, error) {
	if p := os.Getenv("FERRY_WATCHDOG"); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		for _, n := range []string{"watchdog", "fwatchdog"} {
			p := filepath.Join(filepath.Dir(exe), n)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath("fwatchdog"); err == nil {
		return p, nil
	}
	return "", errors.New("no watchdog binary for the image: build it (scripts/build.sh makes bin/watchdog, or CGO_ENABLED=0 go build -o fwatchdog ./cmd/watchdog) and pass --watchdog PATH or set FERRY_WATCHDOG")
}
