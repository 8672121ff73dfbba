package metrics

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Latency buckets are log-linear over microseconds: 4 sub-buckets per power
// of two, so any estimate is within ~19% of the true value. Observing is
// one atomic add; no locks and no allocation on the hot path.
const (
	subBits    = 2
	subBuckets = 1 << subBits
	numBuckets = 64 * subBuckets
)

type latency struct {
	b [numBuckets]atomic.Uint64
}

func bucketOf(d time.Duration) int {
	us := uint64(d / time.Microsecond)
	if us < subBuckets {
		return int(us)
	}
	exp := bits.Len64(us) - 1 // position of the top bit, >= subBits
	sub := (us >> (exp - subBits)) & (subBuckets - 1)
	return (exp-subBits+1)*subBuckets + int(sub)
}

// bucketUpper is the upper bound (seconds) of bucket i.
func bucketUpper(i int) float64 {
	if i < subBuckets {
		return float64(i+1) / 1e6
	}
	exp := i/subBuckets + subBits - 1
	sub := i % subBuckets
	width := math.Ldexp(1, exp-subBits) // float: the top buckets overflow uint64
	return (math.Ldexp(1, exp) + float64(sub+1)*width) / 1e6
}

func (l *latency) observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	l.b[bucketOf(d)].Add(1)
}

// snapshot copies the cumulative counts into dst.
func (l *latency) snapshot(dst *[numBuckets]uint64) {
	for i := range dst {
		dst[i] = l.b[i].Load()
	}
}

// quantile estimates quantile q (0..1) from per-interval bucket counts;
// NaN-free: 0 when there were no observations.
func quantile(counts *[numBuckets]uint64, q float64) float64 {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return bucketUpper(i)
		}
	}
	return bucketUpper(numBuckets - 1)
}
