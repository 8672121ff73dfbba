package process

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ferryfaas/ferry/api"
)

// As root, a function that sets no limits still runs inside defaults: a
// pids limit, private size-limited /tmp, /var/tmp and /dev/shm,
// no_new_privs, a /proc without the host's processes, an environment
// without ferry's own; and readOnlyRootFilesystem is enforced.
func TestReplicaDefaultsIsolate(t *testing.T) {
	t.Setenv("PATH", os.Getenv("PATH")+":/ferry-serve-path")
	t.Setenv("FERRY_ADMIN_PASSWORD", "leaked-admin-password")
	e := newEnv(t, func(c *Config) { c.DefaultPids = 40; c.TmpSize = 8 << 20 })
	if !e.p.isolate || !e.p.cgm().enabled() {
		t.Skip("needs root on Linux with cgroups")
	}
	// "sh" runs each call's body as a script.
	e.deploy(api.FunctionDeployment{Service: "fa", EnvProcess: "sh"})
	e.deploy(api.FunctionDeployment{Service: "fb", EnvProcess: "sh"})
	e.deploy(api.FunctionDeployment{Service: "ro", EnvProcess: "sh", ReadOnlyRootFilesystem: true})
	run := func(fn, script string) string {
		t.Helper()
		_, out := invoke(t, e.waitReady(fn, 1).Endpoints[0], script)
		return out
	}

	out := run("fa", "for d in /tmp /var/tmp /dev/shm; do echo a > $d/ferry-fa-file && echo wrote $d; done; "+
		"head -c 16000000 /dev/zero > /tmp/big 2>/dev/null || echo tmp-full")
	if strings.Count(out, "wrote") != 3 || !strings.Contains(out, "tmp-full") {
		t.Fatalf("fa's private tmp dirs: %q", out)
	}
	out = run("fb", "for d in /tmp /var/tmp /dev/shm; do test -e $d/ferry-fa-file && echo sees $d; done; echo end")
	if strings.Contains(out, "sees") {
		t.Fatalf("fb sees fa's files: %q", out)
	}
	for _, d := range []string{"/tmp", "/var/tmp", "/dev/shm"} {
		if _, err := os.Stat(filepath.Join(d, "ferry-fa-file")); err == nil {
			t.Fatalf("the host sees fa's %s/ferry-fa-file", d)
		}
	}

	out = run("fa", "grep NoNewPrivs /proc/self/status")
	if strings.Join(strings.Fields(out), " ") != "NoNewPrivs: 1" {
		t.Fatalf("no_new_privs: %q", out)
	}
	out = run("fa", "test -e /proc/1 && echo sees-init; test -e /proc/"+strconv.Itoa(os.Getpid())+" && echo sees-ferry; "+
		"echo end")
	if strings.Contains(out, "sees-") {
		t.Fatalf("/proc shows host processes: %q", out)
	}

	out = run("fa", "env")
	for _, leak := range []string{"ferry-serve-path", "leaked-admin-password", "FERRY_ADMIN"} {
		if strings.Contains(out, leak) {
			t.Fatalf("ferry's environment leaks (%s):\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "PATH="+functionPath+"\n") || !strings.Contains(out, "HOME=/home/app\n") {
		t.Fatalf("PATH or HOME not the function's:\n%s", out)
	}

	out = run("ro", "touch /home/app/x 2>&1; touch /tmp/x /var/tmp/x /dev/shm/x $TMPDIR/x && echo tmp-writable; echo hi > /dev/null && echo devnull-ok")
	if !strings.Contains(out, "Read-only file system") || !strings.Contains(out, "tmp-writable") || !strings.Contains(out, "devnull-ok") {
		t.Fatalf("read-only root: %q", out)
	}
	out = run("fa", "touch /home/app/x && echo home-writable")
	if !strings.Contains(out, "home-writable") {
		t.Fatalf("without readOnlyRootFilesystem: %q", out)
	}
	// More sleeps than the pids limit: the kernel refuses the forks.
	run("fa", "i=0; while [ $i -lt 60 ]; do sleep 3 & i=$((i+1)); done 2>/dev/null; echo end")
	grp := filepath.Join(e.p.cgm().pids, e.p.cgm().base, ns+"-fa", "0")
	if e.p.cgm().pids == "" {
		t.Skip("no cgroup v1 pids hierarchy")
	}
	if b, _ := os.ReadFile(filepath.Join(grp, "pids.max")); strings.TrimSpace(string(b)) != "40" {
		t.Fatalf("pids.max %q, want 40", b)
	}
	if b, _ := os.ReadFile(filepath.Join(grp, "pids.events")); strings.TrimSpace(string(b)) == "max 0" {
		t.Fatalf("60 sleeps were all started: pids.events %q", b)
	}
}

// Without isolation a read-only root cannot be enforced: the function's
// status says so instead of accepting it silently.
func TestReadOnlyRootNotIsolatedSaysSo(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.NoIsolation = true })
	e.deploy(api.FunctionDeployment{Service: "ro", EnvProcess: "cat", ReadOnlyRootFilesystem: true})
	st, err := e.p.Get(t.Context(), ns, "ro")
	if err != nil {
		t.Fatal(err)
	}
	if !hasCondition(st, "ReadOnlyRootFilesystem", "not enforced") {
		t.Fatalf("conditions %+v", st.Conditions)
	}
}

// System V IPC objects outlive the processes that made them: without an
// IPC namespace per replica, a function's shared memory segments (pinned
// memory, outside any limit once the function is gone) stayed on the host
// after the function was deleted, visible to every function and to a later
// function given the same uid.
func TestReplicaIPCIsPrivate(t *testing.T) {
	if _, err := exec.LookPath("ipcmk"); err != nil {
		t.Skip("needs ipcmk (util-linux)")
	}
	e := newEnv(t, nil)
	if !e.p.isolate {
		t.Skip("needs root on Linux")
	}
	e.deploy(api.FunctionDeployment{Service: "fa", EnvProcess: "sh"})
	e.deploy(api.FunctionDeployment{Service: "fb", EnvProcess: "sh"})
	_, out := invoke(t, e.waitReady("fa", 1).Endpoints[0], "ipcmk -M 65536 -p 0600; id -u")
	f := strings.Fields(out)
	if len(f) < 2 || !strings.Contains(out, "Shared memory id") {
		t.Fatalf("ipcmk in fa: %q", out)
	}
	uid := f[len(f)-1]
	t.Cleanup(func() { exec.Command("ipcrm", "--shmem-id", f[len(f)-2]).Run() })
	seen := func(table string) bool {
		for _, l := range strings.Split(table, "\n")[1:] {
			// /proc/sysvipc/shm: key shmid perms size cpid lpid nattch uid ...
			if c := strings.Fields(l); len(c) > 7 && c[7] == uid {
				return true
			}
		}
		return false
	}
	if host, _ := os.ReadFile("/proc/sysvipc/shm"); seen(string(host)) {
		t.Fatalf("the host sees fa's shared memory segment:\n%s", host)
	}
	if _, out := invoke(t, e.waitReady("fb", 1).Endpoints[0], "cat /proc/sysvipc/shm"); seen(out) {
		t.Fatalf("fb sees fa's shared memory segment:\n%s", out)
	}
}

// A descriptor ferry was started with and that is not close-on-exec (a
// launcher's pipe, socket or file) reached every replica and its
// function, whatever user they run as.
func TestInheritedFDsStayOutOfReplicas(t *testing.T) {
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// above the descriptors a replica is given, and without O_CLOEXEC, as
	// an inherited one
	const fd = 200
	if err := syscall.Dup3(int(f.Fd()), fd, 0); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	e := newEnv(t, nil)
	e.deploy(api.FunctionDeployment{Service: "fa", EnvProcess: "sh"})
	_, out := invoke(t, e.waitReady("fa", 1).Endpoints[0], "ls /proc/self/fd")
	if slices.Contains(strings.Fields(out), strconv.Itoa(fd)) {
		t.Fatalf("fd %d of ferry is open in the replica:\n%s", fd, out)
	}
}
