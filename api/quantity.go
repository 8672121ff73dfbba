package api

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseMemory parses a Kubernetes memory quantity ("128Mi", "1G", "1048576")
// into bytes.
func ParseMemory(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
		{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
	}
	num, mult := s, 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || f*mult > 1<<50 {
		return 0, fmt.Errorf("%q is not a memory quantity such as 128Mi or 1Gi", short(s))
	}
	return int64(f * mult), nil
}

// ParseCPU parses a Kubernetes CPU quantity ("500m", "1", "0.25") into
// millicores.
func ParseCPU(s string) (int64, error) {
	num, mult := s, 1000.0
	if strings.HasSuffix(s, "m") {
		num, mult = strings.TrimSuffix(s, "m"), 1
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || f*mult > 1e7 || f*mult < 1 {
		return 0, fmt.Errorf("%q is not a CPU quantity such as 500m or 2", short(s))
	}
	return int64(f * mult), nil
}
