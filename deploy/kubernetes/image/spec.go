package main

import (
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// spec is what one platform image holds and runs.
type spec struct {
	title      string
	files      []file // copied to the image, executable
	entrypoint []string
	cmd        []string
	data       string // the only dir the user owns; HOME and workdir
	ports      []string
	hint       string // how to get a missing input
}

// file is copied from src to dst (a path in the image); executables are
// 0755, data files (data set) 0644.
type file struct {
	src, dst string
	data     bool
}

// specFor describes a component's image. The servers' default arguments
// put every writable path under the data dir, which the chart mounts as a
// volume: the root filesystem stays read-only.
func specFor(component, ferry, watchdog, bin string) (spec, error) {
	switch component {
	case "ferry":
		return spec{title: "ferry", data: "/data", ports: []string{"8080/tcp"},
			files:      []file{{src: ferry, dst: "usr/bin/ferry-kubernetes"}, {src: watchdog, dst: "usr/bin/watchdog"}},
			entrypoint: []string{"/usr/bin/ferry-kubernetes"},
			cmd:        []string{"serve", "--provider", "kubernetes", "--listen", "0.0.0.0:8080", "--data-dir", "/data"},
			hint:       "build it first: scripts/build.sh"}, nil
	case "nats":
		return spec{title: "nats", data: "/data", ports: []string{"4222/tcp", "8222/tcp"},
			files:      []file{{src: or(bin, "nats-server"), dst: "usr/bin/nats-server"}},
			entrypoint: []string{"/usr/bin/nats-server"},
			cmd:        []string{"-js", "-sd", "/data", "-p", "4222", "-m", "8222"},
			hint:       "a static nats-server from github.com/nats-io/nats-server/v2: scripts/platform-images.sh"}, nil
	case "prometheus", "alertmanager":
		src, dst := or(bin, "/usr/bin/prometheus"), "usr/bin/prometheus"
		cmd := []string{"--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/data", "--web.listen-address=:9090"}
		ports := []string{"9090/tcp"}
		if component == "alertmanager" {
			src, dst = or(bin, "/usr/bin/prometheus-alertmanager"), "usr/bin/alertmanager"
			// An empty cluster address turns gossip clustering off.
			cmd = []string{"--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/data", "--web.listen-address=:9093", "--cluster.listen-address="}
			ports = []string{"9093/tcp"}
		}
		libs, err := sharedLibs(src)
		if err != nil {
			return spec{}, err
		}
		if component == "alertmanager" {
			// Debian's build reads its notification templates from disk.
			tmpls, _ := filepath.Glob("/usr/share/prometheus/alertmanager/*.tmpl")
			for _, t := range tmpls {
				libs = append(libs, file{src: t, dst: t[1:], data: true})
			}
		}
		return spec{title: component, data: "/data", ports: ports,
			files: append([]file{{src: src, dst: dst}}, libs...), entrypoint: []string{"/" + dst}, cmd: cmd,
			hint: "apt-get install prometheus prometheus-alertmanager (scripts/install-deps.sh)"}, nil
	}
	return spec{}, fmt.Errorf("component %q: use ferry, nats, prometheus or alertmanager", component)
}

// sharedLibs lists the shared libraries a dynamically linked binary loads
// (Debian builds Prometheus and Alertmanager with cgo: libc and the
// dynamic loader), each at the path the loader looks for it. A static
// binary needs none.
func sharedLibs(bin string) ([]file, error) {
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %v: %s", bin, err, out)
	}
	var libs []file
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		p := ""
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			p = f[2] // libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			p = f[0] // /lib64/ld-linux-x86-64.so.2 (0x...)
		}
		if p != "" {
			libs = append(libs, file{src: p, dst: strings.TrimPrefix(path.Clean(p), "/")})
		}
	}
	return libs, nil
}

// parents lists the directories above a file, outermost first, each with
// the trailing slash of a tar directory entry.
func parents(p string) []string {
	var out []string
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		out = append([]string{d + "/"}, out...)
	}
	return out
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
