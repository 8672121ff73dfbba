package wasmrt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync/atomic"
)

// validatedDir, under the compilation cache, holds an empty file named
// for the SHA-256 of each module that was validated as written. Validating
// a Go guest takes about five times as long as compiling it from the
// cache, so without it a restart would spend most of its time on modules
// it has already checked. The name carries a version: a stricter check in
// a later release starts from an empty record.
const validatedDir = "validated-v1"

// validations counts modules actually validated (not found in the record).
var validations atomic.Int64

// validateOnce validates bin as written unless a module with the same
// bytes was validated before on this server, and records it when it is
// valid. The record is in the data dir, root's: whoever can write it can
// already replace the server's binary.
func (rt *Runtime) validateOnce(ctx context.Context, bin []byte) error {
	sum := sha256.Sum256(bin)
	mark := filepath.Join(rt.cacheDir, validatedDir, hex.EncodeToString(sum[:]))
	if _, err := os.Stat(mark); err == nil {
		return nil
	}
	validations.Add(1)
	if err := validate(ctx, bin); err != nil {
		return err
	}
	// Best effort: without the record the next start validates again.
	if err := os.MkdirAll(filepath.Dir(mark), 0o700); err == nil {
		_ = os.WriteFile(mark, nil, 0o600)
	}
	return nil
}
