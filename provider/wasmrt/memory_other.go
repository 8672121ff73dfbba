//go:build !linux

package wasmrt

import (
	"context"

	"github.com/tetratelabs/wazero/experimental"
)

// memImage is Linux's mapped initial memory; elsewhere instances start
// from wazero's own memory and the module's merged data segments.
type memImage struct{}

func prepareCode(bin []byte) ([]byte, *memImage) { return mergeData(bin), nil }

func (*memImage) close() {}

func (*memImage) allocate(uint64) experimental.LinearMemory { return &sliceMemory{} }

func (*memImage) withMemory(ctx context.Context) context.Context { return ctx }
