//go:build linux

package process

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/internal/ports"
	"github.com/ferryfaas/ferry/provider"
)

// squatterPL is a hostile function: it serves its own $PORT, and on
// GET /squat/N binds 127.0.0.1:N too; whatever it is sent on such a port
// it logs ("got on N: <request head>") and answers "stolen".
const squatterPL = `use IO::Socket::INET; use IO::Select; $| = 1;
my $sel = IO::Select->new; my %lis;
sub lis { my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $_[0], Listen => 64, ReuseAddr => 1) or return 0;
  $sel->add($s); $lis{fileno $s} = 1; return 1 }
lis($ENV{PORT}) or die "cannot bind $ENV{PORT}";
while (1) { for my $s ($sel->can_read) {
  if ($lis{fileno $s}) { my $c = $s->accept or next; $sel->add($c); next }
  my $buf = ""; my $n = sysread($s, $buf, 65536);
  if (!$n) { $sel->remove($s); close $s; next }
  my $body;
  if ($buf =~ m{^GET /squat/(\d+)}) { $body = lis($1) ? "squatting $1" : "busy $1" }
  else { (my $h = $buf) =~ s/\r?\n/ | /g; print "got on " . $s->sockport . ": $h\n"; $body = "stolen" }
  syswrite($s, "HTTP/1.1 200 OK\r\nContent-Length: " . length($body) . "\r\n\r\n$body") } }`

// deploySquatter deploys the hostile function and returns its endpoint.
func deploySquatter(t *testing.T, e *env) provider.Endpoint {
	t.Helper()
	perl, err := exec.LookPath("perl")
	if err != nil || !strings.HasPrefix(perl, "/usr/bin/") {
		t.Skip("needs /usr/bin/perl (readable by function users) for the hostile function")
	}
	e.deploy(api.FunctionDeployment{Service: "squatter", EnvProcess: `sh -c 'exec perl -e "$SQUAT_PL"'`,
		EnvVars: map[string]string{"mode": "http", "SQUAT_PL": squatterPL}})
	return e.waitReady("squatter", 1).Endpoints[0]
}

// squatPort has the hostile function bind 127.0.0.1:port.
func squatPort(t *testing.T, ep provider.Endpoint, port int) {
	t.Helper()
	res, err := client.Get("http://" + ep.Address + "/squat/" + strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b [64]byte
	n, _ := res.Body.Read(b[:])
	if string(b[:n]) != "squatting "+strconv.Itoa(port) {
		t.Fatalf("squat %d: %q", port, b[:n])
	}
}

// upstreamPort reads the upstream port ferry gave a watchdog.
func upstreamPort(pid int) int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	for _, kv := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, "upstream_port="); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// squatterLogs is what the hostile function logged it received.
func squatterLogs(t *testing.T, e *env) string {
	ch, err := e.p.Logs(context.Background(), api.LogRequest{Name: "squatter", Namespace: ns, Tail: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range ch {
		if strings.Contains(m.Text, "got on") {
			got = append(got, m.Text)
		}
	}
	return strings.Join(got, "\n")
}

// callsReachHonest posts n calls with a secret header to the function's
// replica and fails on any answer that is not the function's own.
func callsReachHonest(t *testing.T, ep provider.Endpoint, n int) {
	t.Helper()
	wrong := 0
	for i := range n {
		body := fmt.Sprintf("honest %d", i)
		req, _ := http.NewRequest("POST", "http://"+ep.Address+"/", strings.NewReader(body))
		req.Header.Set("X-Secret", "s3cret-of-honest")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(b) != body {
			wrong++
			t.Logf("call %d: %d %q", i, res.StatusCode, b)
		}
	}
	if wrong > 0 {
		t.Fatalf("%d of %d calls did not reach the function they were routed to", wrong, n)
	}
}

// honestHTTP is an http-mode function that binds its port only after
// delay seconds (as a slow runtime would): a window in which another
// function can bind it first.
func honestHTTP(name string, delay int) api.FunctionDeployment {
	return api.FunctionDeployment{Service: name,
		EnvProcess: `sh -c 'sleep ` + strconv.Itoa(delay) + `; port=$PORT metrics_port=0 mode=streaming fprocess=cat exec ` + watchdogBin + `'`,
		EnvVars:    map[string]string{"mode": "http"}}
}

// A function that binds another replica's upstream port before it does
// receives none of its calls: the replica is not ready on a listener that
// is not its function's, and starts again on another port.
func TestSquattedUpstreamGetsNoCalls(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.NoIsolation = os.Getenv("NOISO") != "" })
	sq := deploySquatter(t, e)
	e.deploy(honestHTTP("honest", 3)) // time enough to squat its port on a loaded machine
	var up int
	for deadline := time.Now().Add(5 * time.Second); up == 0 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if pid := e.p.pids(ns, "honest")["honest-0"]; pid > 0 {
			up = upstreamPort(pid)
		}
	}
	if up == 0 {
		t.Fatal("no upstream port for honest-0")
	}
	squatPort(t, sq, up)
	ep := e.waitReady("honest", 1).Endpoints[0]
	callsReachHonest(t, ep, 20)
	if got := squatterLogs(t, e); got != "" {
		t.Fatalf("the hostile function received calls:\n%s", got)
	}
}

// A function holding every port of the range ferry picks from does not
// stop another function's replica from starting.
func TestFilledPortRangeStillStarts(t *testing.T) {
	const span = 8
	base := freeRun(t, span)
	defer ports.Restrict(base, span)()
	e := newEnv(t, func(c *Config) { c.NoIsolation = os.Getenv("NOISO") != "" })
	sq := deploySquatter(t, e)
	for p := base; p < base+span; p++ {
		if !taken(p) {
			squatPort(t, sq, p)
		}
	}
	e.deploy(honestHTTP("honest", 0))
	ep := e.waitRoute("honest", 15*time.Second, "honest ready", func(r provider.Route) bool { return len(r.Endpoints) == 1 }).Endpoints[0]
	callsReachHonest(t, ep, 5)
	if got := squatterLogs(t, e); got != "" {
		t.Fatalf("the hostile function received calls:\n%s", got)
	}
}

// freeRun finds n consecutive free loopback ports below the ephemeral range.
func freeRun(t *testing.T, n int) int {
	t.Helper()
	for base := ports.Min + 1000*(os.Getpid()%10); base+n < ports.Min+ports.Span; base += n {
		ok := true
		for p := base; p < base+n && ok; p++ {
			ok = !taken(p)
		}
		if ok {
			return base
		}
	}
	t.Skip("no run of free ports")
	return 0
}

func taken(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return true
	}
	l.Close()
	return false
}

// A replica's watchdog ports are held by Ferry for the replica's whole
// life: once its watchdog died, and while the gateway may still call the
// address (the replica is not yet marked down), no other process can bind
// them to receive those calls.
func TestDeadReplicaPortsNotFree(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(api.FunctionDeployment{Service: "held", EnvProcess: "cat"})
	ep := e.waitReady("held", 1).Endpoints[0]
	f := e.p.lookup(ns, "held")
	pid := e.p.pids(ns, "held")["held-0"]
	f.mu.Lock() // the supervisor cannot mark the replica down meanwhile
	locked := true
	defer func() {
		if locked {
			f.mu.Unlock()
		}
	}()
	syscall.Kill(pid, syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("watchdog not reaped")
		}
	}
	for _, addr := range []string{ep.Address, ep.MetricsAddress} {
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			t.Errorf("%s could be bound by another process while the replica is still routed", addr)
		}
	}
	f.mu.Unlock()
	locked = false
	e.waitReady("held", 1)
}
