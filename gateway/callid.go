package gateway

import (
	"crypto/rand"
	"sync/atomic"
)

// callIDs makes X-Call-Id values shaped like UUIDs: a random per-process
// prefix and a counter, so each ID costs one small allocation and no
// entropy.
type callIDs struct {
	prefix [8]byte
	n      atomic.Uint64
}

func (c *callIDs) init() {
	rand.Read(c.prefix[:])
	var seed [8]byte
	rand.Read(seed[:])
	var s uint64
	for _, b := range seed {
		s = s<<8 | uint64(b)
	}
	c.n.Store(s)
}

const hexDigits = "0123456789abcdef"

func (c *callIDs) next() string {
	var raw [16]byte
	copy(raw[:8], c.prefix[:])
	n := c.n.Add(1)
	for i := 15; i >= 8; i-- {
		raw[i] = byte(n)
		n >>= 8
	}
	var out [36]byte
	j := 0
	for i, b := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hexDigits[b>>4], hexDigits[b&15]
		j += 2
	}
	return string(out[:])
}
