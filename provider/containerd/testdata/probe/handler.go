// Package function is a golang-http handler that reports, from inside its
// container, what the runtime's isolation allows: the tests ask it over
// HTTP because the image has no shell to exec.
package function

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

func init() {
	// A child started by op=forks: only hold a pid for a while.
	if os.Getenv("PROBE_SLEEP") != "" {
		time.Sleep(5 * time.Second)
		os.Exit(0)
	}
}

// Handle runs the probe named by ?op=.
func Handle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/plain")
	switch q.Get("op") {
	case "id":
		st, _ := os.ReadFile("/proc/self/status")
		fmt.Fprintf(w, "uid=%d gid=%d\n", os.Getuid(), os.Getgid())
		for _, l := range strings.Split(string(st), "\n") {
			if strings.HasPrefix(l, "NoNewPrivs") || strings.HasPrefix(l, "Seccomp:") || strings.HasPrefix(l, "CapEff") {
				fmt.Fprintln(w, strings.Join(strings.Fields(l), " "))
			}
		}
	case "write": // create a file
		fmt.Fprint(w, result(os.WriteFile(q.Get("path"), []byte("x"), 0o600)))
	case "read":
		b, err := os.ReadFile(q.Get("path"))
		if err != nil {
			fmt.Fprint(w, result(err))
			return
		}
		w.Write(b)
	case "fill": // write n bytes to one file
		n, _ := strconv.Atoi(q.Get("n"))
		f, err := os.Create(q.Get("path"))
		if err == nil {
			_, err = f.Write(make([]byte, n))
			f.Close()
			os.Remove(q.Get("path"))
		}
		fmt.Fprint(w, result(err))
	case "forks": // start up to n sleeping children
		n, _ := strconv.Atoi(q.Get("n"))
		var kids []*exec.Cmd
		var err error
		for len(kids) < n {
			c := exec.Command("/proc/self/exe")
			c.Env = []string{"PROBE_SLEEP=1"}
			if err = c.Start(); err != nil {
				break
			}
			kids = append(kids, c)
		}
		for _, c := range kids {
			c.Process.Kill()
			c.Wait()
		}
		fmt.Fprintf(w, "started %d: %s", len(kids), result(err))
	case "dial":
		c, err := net.DialTimeout("tcp", q.Get("addr"), time.Second)
		if err == nil {
			c.Close()
		}
		fmt.Fprint(w, result(err))
	case "alloc": // touch n MiB
		n, _ := strconv.Atoi(q.Get("mb"))
		b := make([]byte, n<<20)
		for i := range b {
			if i%4096 == 0 {
				b[i] = 1
			}
		}
		fmt.Fprintf(w, "allocated %d MiB", len(b)>>20)
	case "ip": // this replica's address on the bridge
		as, _ := net.InterfaceAddrs()
		for _, a := range as {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				fmt.Fprint(w, n.IP)
				return
			}
		}
	case "env":
		fmt.Fprint(w, os.Getenv(q.Get("name")))
	default:
		fmt.Fprint(w, "probe")
	}
}

func result(err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}
