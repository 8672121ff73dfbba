package queue

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// retryableStatus lists the function answers worth another attempt
// (the set OpenFaaS's paid queue worker retries on).
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Backoff is exponential back-off with jitter: Min, 2*Min, 4*Min...
// capped at Max, each wait drawn from [0.8, 1.2) of its nominal value so
// that calls failed together do not retry together.
type Backoff struct {
	Min, Max time.Duration
}

// Delay is the wait before attempt n+1 after n failed attempts (n >= 1).
func (b Backoff) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
