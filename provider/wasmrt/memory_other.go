//go:build !linux

package wasmrt

import "context"

// withMemory leaves wazero's own memory allocation (a Go slice) where
// the Linux mapping is not available.
func withMemory(ctx context.Context) context.Context { return ctx }
