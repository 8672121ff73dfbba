package wasmrt

import (
	"context"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/experimental"
)

// memoryWait is how long a call waits for the budget to hold its initial
// memory, or a growth, before it is refused: long enough for calls in
// flight to finish, short enough that a flood is answered rather than
// queued (and that calls all waiting on each other give up).
const memoryWait = time.Second

// lease is one call's share of the budget: what its instance's memory
// holds, returned when the call ends whatever way it ends.
type lease struct {
	b     *Budget
	use   *usage
	mod   *module
	ctx   context.Context // the call's: a wait for memory ends with it
	start time.Duration   // see usage.begin

	mu       sync.Mutex
	prepaid  uint64 // reserved at admission, not yet drawn by a memory
	held     uint64 // drawn by memories
	mems     []*budgeted
	refusal  uint64 // bytes of a growth the budget refused: it, not the guest, failed the call
	released bool
}

// admission is what a call of m reserves before it starts: its initial
// memory, or what its calls reached lately if more. Calls admitted on
// their initial memory alone would all start, then all wait for each
// other to grow; a function's calls are alike enough that its last peak
// says what the next call needs. A peak past the whole budget is not
// asked for: the call would be refused before it could lower it.
func admission(m *module, b *Budget) uint64 {
	if p := m.peak.Load(); p > m.initial && (b.limit == 0 || p <= b.limit) {
		return p
	}
	return m.initial
}

// admit reserves a call's admission (want bytes), waiting briefly for
// it; nil when the budget cannot hold it.
func admit(ctx context.Context, b *Budget, use *usage, m *module, want uint64) *lease {
	if !b.wait(ctx, want, memoryWait) {
		b.refused.Add(1)
		return nil
	}
	return &lease{b: b, use: use, mod: m, ctx: ctx, prepaid: want, start: use.begin()}
}

// withMemory makes the instances created with ctx back their linear
// memory with im's (see memImage.allocate), each growth reserved from the
// budget first: a growth the budget cannot hold fails as memory.grow
// fails (the guest sees -1), never the server.
func (l *lease) withMemory(ctx context.Context, im *memImage) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(func(_, maxBytes uint64) experimental.LinearMemory {
		m := &budgeted{l: l, inner: im.allocate(maxBytes)}
		l.mu.Lock()
		l.mems = append(l.mems, m)
		l.mu.Unlock()
		return m
	}))
}

// grow reserves n more bytes for a memory, from what was prepaid first,
// waiting briefly for the rest as admission does: a call holding a little
// may wait for calls holding more to end. A memory's first allocation
// (must) is taken even past the budget: wazero cannot fail it gracefully,
// and admission reserved it already.
func (l *lease) grow(n uint64, must bool) bool {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return false // nothing runs after release; nothing may be held
	}
	from := min(n, l.prepaid)
	l.prepaid -= from
	l.mu.Unlock()
	need := n - from
	ok := need == 0 || l.b.take(need, must) || l.b.wait(l.ctx, need, memoryWait)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !ok || l.released {
		if ok {
			l.b.give(need)
		}
		l.prepaid += from
		if l.ctx.Err() == nil { // else the call was stopped, not refused
			l.refusal = need
		}
		return false
	}
	l.use.memory.Add(int64(n))
	l.held += n
	return true
}

// refused is the growth the budget refused this call, in bytes (0: none).
func (l *lease) refused() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusal
}

// release frees the memories wazero has not freed (an instantiation that
// failed half-way) and returns everything the call held. Idempotent.
func (l *lease) release() {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return
	}
	l.released = true
	mems, held, n, refusal := l.mems, l.held, l.prepaid+l.held, l.refusal
	l.prepaid, l.held, l.mems = 0, 0, nil
	if l.refusal > 0 {
		l.b.refused.Add(1)
	}
	l.mu.Unlock()
	for _, m := range mems {
		m.Free()
	}
	l.use.memory.Add(-int64(held))
	l.use.end(l.start)
	// The peak decays by an eighth a call: one big call does not make
	// every later one reserve as much for long. A refused call counts
	// what it asked for: the next ones wait at admission for it instead.
	p := l.mod.peak.Load()
	l.mod.peak.Store(max(held+refusal, p-p/8))
	l.b.give(n)
}

// budgeted is a linear memory whose growth the budget pays for.
type budgeted struct {
	l     *lease
	inner experimental.LinearMemory
	mu    sync.Mutex
	size  uint64 // reserved for this memory so far
	freed bool
}

func (m *budgeted) Reallocate(size uint64) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.freed {
		return nil
	}
	if size > m.size {
		if !m.l.grow(size-m.size, m.size == 0) {
			return nil
		}
		m.size = size
	}
	return m.inner.Reallocate(size)
}

// Free unmaps the memory once (wazero's close, then the lease's release);
// its reservation goes back with the lease.
func (m *budgeted) Free() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.freed {
		m.freed = true
		m.inner.Free()
	}
}
