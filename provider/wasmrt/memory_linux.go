package wasmrt

import (
	"context"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// withMemory makes the instances created with ctx back their linear
// memory with a mapping of its own, reserved at the memory's maximum and
// made accessible as it grows. wazero's default is a Go slice, copied
// whole at each memory.grow and zeroed by the Go runtime: a Go guest
// grows its memory a dozen times while starting, which made most of a
// call's cold start; fresh mapped pages are zero already and growing
// copies nothing. Each instance's pages are unmapped when it closes, so
// no call can read what another left.
func withMemory(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(allocate))
}

func allocate(capacity, maxBytes uint64) experimental.LinearMemory {
	if maxBytes > 0 && maxBytes <= 1<<32 {
		b, err := syscall.Mmap(-1, 0, int(maxBytes), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
		if err == nil {
			return &mapped{buf: b}
		}
	}
	return &sliceMemory{} // as wazero does without an allocator
}

// sliceMemory is wazero's own way: a Go slice, copied as it grows.
type sliceMemory struct{ buf []byte }

func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.buf)) {
		b := make([]byte, size)
		copy(b, m.buf)
		m.buf = b
	}
	m.buf = m.buf[:size]
	return m.buf
}

func (m *sliceMemory) Free() { m.buf = nil }

// mapped is a linear memory in its own mapping.
type mapped struct {
	buf       []byte
	committed uint64
}

func (m *mapped) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	if size > m.committed {
		if err := syscall.Mprotect(m.buf[m.committed:size], syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
			return nil
		}
		m.committed = size
	}
	return m.buf[:size:size]
}

func (m *mapped) Free() {
	if m.buf != nil {
		syscall.Munmap(m.buf)
		m.buf = nil
	}
}
