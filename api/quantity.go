package api

import (
	"fmt"
	"strconv"
	"strings"
)

// Floors for limits and requests. Kubernetes has none, but a runtime
// cannot honour less: Docker and runc refuse a memory limit under 6 MiB
// (a process cannot even be started in less), and a cgroup's cpu.max
// quota cannot be under 1ms, which with the 100ms period is 10 millicores.
// Values under them are almost always slips ("128" meant as 128Mi).
const (
	MinMemory   = 6 << 20 // bytes
	MinCPUMilli = 10
)

// ParseMemory parses a Kubernetes memory quantity ("128Mi", "1G", "1048576")
// into bytes.
func ParseMemory(s string) (int64, error) {
	num, mult := splitMemory(s)
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || f*mult > 1<<50 {
		return 0, fmt.Errorf("%q is not a memory quantity such as 128Mi or 1Gi%s", short(s), memoryHint(s))
	}
	return int64(f * mult), nil
}

func splitMemory(s string) (string, float64) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
		{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
	}
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			return strings.TrimSuffix(s, u.suffix), u.mult
		}
	}
	return s, 1
}

// memoryHint suggests the binary unit for common misspellings ("128mb",
// "128m", which in Kubernetes means millibytes, "1gb").
func memoryHint(s string) string {
	num := strings.TrimRight(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
	if f, err := strconv.ParseFloat(num, 64); err != nil || f <= 0 || num == s {
		return "" // no number to suggest a unit for, or no unit
	}
	switch strings.ToLower(s[len(num):]) {
	case "m", "mb", "mi", "mib":
		return fmt.Sprintf("; did you mean %sMi?", num)
	case "g", "gb", "gi", "gib":
		return fmt.Sprintf("; did you mean %sGi?", num)
	case "k", "kb", "ki", "kib":
		return fmt.Sprintf("; did you mean %sKi?", num)
	}
	return ""
}

// CheckMemory parses a memory limit or request and refuses one under
// MinMemory, suggesting the unit a bare number probably lacked.
func CheckMemory(s string) (int64, error) {
	n, err := ParseMemory(s)
	if err != nil {
		return 0, err
	}
	if n < MinMemory {
		hint := ""
		if num, mult := splitMemory(s); mult == 1 && n >= MinMemory>>20 {
			hint = fmt.Sprintf(" did you mean %sMi?", num)
		}
		return 0, fmt.Errorf("%q is %d bytes;%s the minimum is 6Mi", short(s), n, hint)
	}
	return n, nil
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

// CheckCPU parses a CPU limit or request and refuses one under MinCPUMilli.
func CheckCPU(s string) (int64, error) {
	n, err := ParseCPU(s)
	if err != nil {
		return 0, err
	}
	if n < MinCPUMilli {
		return 0, fmt.Errorf("%q is under the minimum of %dm (a cgroup cannot give less than 1ms every 100ms)", short(s), MinCPUMilli)
	}
	return n, nil
}
