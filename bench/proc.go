package bench

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, 100 on every Linux we run on.
const clockTicks = 100

// ProcCPU returns user+system CPU time of pid and all its descendants
// (children that have exited and been waited for are included by the
// kernel in the parent's cutime/cstime).
func ProcCPU(pid int) time.Duration {
	var total int64
	for _, p := range Descendants(pid) {
		f := statFields(p)
		if len(f) < 17 {
			continue
		}
		for _, i := range []int{13, 14, 15, 16} { // utime stime cutime cstime
			v, _ := strconv.ParseInt(f[i], 10, 64)
			total += v
		}
	}
	return time.Duration(total) * time.Second / clockTicks
}

// Descendants returns pid and every process below it.
func Descendants(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f := statFields(p)
		if len(f) < 4 {
			continue
		}
		pp, _ := strconv.Atoi(f[3])
		children[pp] = append(children[pp], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// statFields splits /proc/PID/stat, handling spaces in the command name.
func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	head := strings.Fields(s[:strings.IndexByte(s, '(')])
	return append(append(head, "comm"), strings.Fields(s[i+1:])...)
}

// RSS returns the resident set size of one process in bytes.
func RSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
