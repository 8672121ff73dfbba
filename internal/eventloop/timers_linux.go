package eventloop

import (
	"container/heap"
	"time"
)

// timer is one deadline in the loop's heap (idx -1: not armed).
type timer struct {
	when time.Time
	idx  int
	fire func()
}

type timerHeap []*timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when.Before(h[j].when) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}

func (l *loop) arm(t *timer, when time.Time) {
	t.when = when
	if t.idx >= 0 {
		heap.Fix(&l.timers, t.idx)
	} else {
		heap.Push(&l.timers, t)
	}
}

func (l *loop) disarm(t *timer) {
	if t.idx >= 0 {
		heap.Remove(&l.timers, t.idx)
	}
}

func (l *loop) runTimers() {
	for len(l.timers) > 0 && !l.timers[0].when.After(l.now) {
		heap.Pop(&l.timers).(*timer).fire()
	}
}
