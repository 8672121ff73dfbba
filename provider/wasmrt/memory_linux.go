package wasmrt

import (
	"context"
	"os"
	"unsafe"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// memImage is a module's initial memory (what its data segments write),
// in a sealed memfd that every instance maps privately: copy on write, so
// starting an instance copies nothing and an instance's writes are its
// own. nil: the module keeps its data segments and instances start from
// empty mappings.
type memImage struct {
	fd   int
	size int // bytes, a multiple of the page size
}

// prepareCode is what is compiled, and the image instances map: the
// module without its data section when the image can be taken out, else
// the module with its segments merged (see mergeData).
func prepareCode(bin []byte) ([]byte, *memImage) {
	code, image, err := splitData(bin)
	if err != nil {
		return mergeData(bin), nil
	}
	im, err := newMemImage(image)
	if err != nil {
		return mergeData(bin), nil
	}
	return code, im
}

func newMemImage(image []byte) (*memImage, error) {
	fd, err := unix.MemfdCreate("ferry-wasm-data", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, err
	}
	page := os.Getpagesize()
	im := &memImage{fd: fd, size: (len(image) + page - 1) / page * page}
	if err := unix.Ftruncate(fd, int64(im.size)); err != nil {
		unix.Close(fd)
		return nil, err
	}
	for off := 0; off < len(image); {
		n, err := unix.Pwrite(fd, image[off:], int64(off))
		if err != nil {
			unix.Close(fd)
			return nil, err
		}
		off += n
	}
	// Sealed: nothing can change what later instances start from.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return im, nil
}

func (im *memImage) close() {
	if im != nil {
		unix.Close(im.fd)
	}
}

// withMemory makes the instances created with ctx back their linear
// memory with a mapping of their own, reserved at the memory's maximum,
// the image mapped privately at its start, and made accessible as it
// grows. wazero's default is a Go slice, copied whole at each
// memory.grow and zeroed by the Go runtime: a Go guest grows its memory
// a dozen times while starting. Fresh pages are zero and growing copies
// nothing; the mapping is unmapped when the instance closes, so no call
// can read what another left.
func (im *memImage) withMemory(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(func(_, maxBytes uint64) experimental.LinearMemory {
		return im.allocate(maxBytes)
	}))
}

// allocate is one instance's linear memory, as withMemory describes.
func (im *memImage) allocate(maxBytes uint64) experimental.LinearMemory {
	if maxBytes > 0 && maxBytes <= 1<<32 && (im == nil || uint64(im.size) <= maxBytes) {
		b, err := unix.Mmap(-1, 0, int(maxBytes), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
		if err == nil {
			m := &mapped{buf: b}
			if im == nil {
				return m
			}
			if _, err := unix.MmapPtr(im.fd, 0, unsafe.Pointer(&b[0]), uintptr(im.size),
				unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED); err == nil {
				m.committed = uint64(im.size)
				return m
			}
			unix.Munmap(b)
		}
	}
	// As wazero does without an allocator, with the image copied in.
	m := &sliceMemory{}
	if im != nil {
		m.buf = make([]byte, im.size)
		if _, err := unix.Pread(im.fd, m.buf, 0); err != nil {
			return &sliceMemory{} // the guest will fail: its data is missing
		}
		m.buf = m.buf[:0]
	}
	return m
}

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
		if err := unix.Mprotect(m.buf[m.committed:size], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil
		}
		m.committed = size
	}
	return m.buf[:size:size]
}

func (m *mapped) Free() {
	if m.buf != nil {
		unix.Munmap(m.buf)
		m.buf = nil
	}
}
