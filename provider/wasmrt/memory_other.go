//go:build !linux

package wasmrt

import "context"

// memImage is Linux's mapped initial memory; elsewhere instances start
// from wazero's own memory and the module's merged data segments.
type memImage struct{}

func prepareCode(bin []byte) ([]byte, *memImage) { return mergeData(bin), nil }

func (*memImage) close() {}

func (*memImage) withMemory(ctx context.Context) context.Context { return ctx }
