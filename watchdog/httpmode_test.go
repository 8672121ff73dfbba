package watchdog

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// httpModeConfig runs the test binary as the function's HTTP server.
func httpModeConfig(t *testing.T, kv ...string) Config {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := testConfig(t, append([]string{"mode=http", "fprocess=" + os.Args[0], "upstream_url=http://" + addr,
		"WATCHDOG_TEST_ROLE=echo", "ECHO_ADDR=" + addr}, kv...)...)
	return cfg
}

func TestHTTPModeProxy(t *testing.T) {
	wd := start(t, httpModeConfig(t))
	code, h, body := call(t, "POST", wd.url+"/a/b?x=1&y=2", "payload", "X-Test", "yes", "Connection", "keep-alive")
	if code != 200 || body != "payload" {
		t.Fatalf("got %d %q", code, body)
	}
	for k, want := range map[string]string{"X-Echo-Method": "POST", "X-Echo-Path": "/a/b", "X-Echo-Query": "x=1&y=2",
		"X-Echo-Header": "yes", "X-Echo-Length": "7"} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	if h.Get("X-Duration-Seconds") == "" {
		t.Error("no X-Duration-Seconds")
	}
	if !strings.Contains(wd.logs.String(), "stderr: echo server starting") {
		t.Errorf("function stderr not logged with prefix:\n%s", wd.logs)
	}
	// many sequential calls reuse the kept-alive upstream connections
	for i := 0; i < 200; i++ {
		if code, _, _ := call(t, "GET", wd.url+"/", ""); code != 200 {
			t.Fatalf("call %d: %d", i, code)
		}
	}
}

func TestHTTPModeBufferBody(t *testing.T) {
	wd := start(t, httpModeConfig(t, "buffer_http=true"))
	pr := strings.NewReader("chunked body")
	req, _ := http.NewRequest("POST", wd.url+"/", struct{ *strings.Reader }{pr}) // unknown length: sent chunked
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := resp.Header.Get("X-Echo-Length"); resp.StatusCode != 200 || got != "12" {
		t.Errorf("upstream saw Content-Length %q, want 12 (buffered); answer %d %q", got, resp.StatusCode, b)
	}
}

func TestHTTPModeTimeout504(t *testing.T) {
	wd := start(t, httpModeConfig(t, "exec_timeout=0.3"))
	began := time.Now()
	code, _, body := call(t, "GET", wd.url+"/slow", "")
	if code != http.StatusGatewayTimeout {
		t.Fatalf("got %d %q, want 504", code, body)
	}
	if el := time.Since(began); el > 3*time.Second {
		t.Errorf("504 took %s", el)
	}
}

func TestHTTPModeStreamsSSE(t *testing.T) {
	wd := start(t, httpModeConfig(t))
	resp, err := client.Get(wd.url + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(resp.Body).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		if l != "data: one\n" {
			t.Errorf("first event %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first SSE event not delivered while the stream is open: proxy buffers")
	}
}

// TestHTTPModeFunctionExit: when the function process dies the watchdog
// stops with an error, so its supervisor restarts the replica.
func TestHTTPModeFunctionExit(t *testing.T) {
	cfg := httpModeConfig(t)
	cfg.FunctionEnv = append(cfg.FunctionEnv, "WATCHDOG_TEST_ROLE=exit")
	inst := startNoWait(t, cfg)
	select {
	case err := <-inst.done:
		inst.done <- err
		if err == nil || !strings.Contains(err.Error(), "exit status 3") {
			t.Errorf("err = %v", err)
		}
	case <-inst.ready:
		t.Fatal("ready although the function never listened")
	case <-time.After(10 * time.Second):
		t.Fatal("watchdog kept running after its function exited")
	}
}

// TestHTTPModeStarting: /_/health is 503 until the upstream listens.
func TestHTTPModeStarting(t *testing.T) {
	cfg := testConfig(t, "mode=http", "fprocess=sleep 30", fmt.Sprintf("upstream_url=http://127.0.0.1:%d", freePort(t)))
	inst := startNoWait(t, cfg)
	waitStatus(t, inst.url+"/_/health", 503, 5*time.Second)
	if code, _, _ := call(t, "GET", inst.url+"/_/ready", ""); code != 503 {
		t.Errorf("ready while starting: %d", code)
	}
	select {
	case <-inst.ready:
		t.Fatal("ready without an upstream")
	default:
	}
	if err := inst.stop(t); err != nil {
		t.Errorf("stop while starting: %v", err)
	}
}

// BenchmarkHTTPMode measures a small POST through the watchdog to an echo
// function in another process (client and watchdog share this process).
func BenchmarkHTTPMode(b *testing.B) {
	addr := fmt.Sprintf("127.0.0.1:%d", benchFreePort(b))
	env := append(os.Environ(), "healthcheck_interval=0", "mode=http", "fprocess="+os.Args[0],
		"upstream_url=http://"+addr, "WATCHDOG_TEST_ROLE=echo", "ECHO_ADDR="+addr, "port=0")
	cfg, err := ConfigFromEnv(env)
	if err != nil {
		b.Fatal(err)
	}
	url := benchStart(b, cfg)
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	c := &http.Client{Transport: tr}
	b.SetParallelism(8) // 16 goroutines on 2 CPUs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Post(url+"/", "text/plain", strings.NewReader("hello"))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

func TestHTTPModeBodies(t *testing.T) {
	wd := start(t, httpModeConfig(t))
	big := strings.Repeat("x", 1<<20)
	if code, h, body := call(t, "POST", wd.url+"/", big); code != 200 || body != big || h.Get("X-Echo-Length") != "1048576" {
		t.Errorf("1 MiB body: %d, %d bytes, upstream length %s", code, len(body), h.Get("X-Echo-Length"))
	}
	// unknown length: forwarded chunked
	chunked := strings.Repeat("y", 200*1024)
	req, _ := http.NewRequest("PUT", wd.url+"/", struct{ *strings.Reader }{strings.NewReader(chunked)})
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != chunked || resp.Header.Get("X-Echo-Length") != "-1" {
		t.Errorf("chunked body: %d, %d bytes, upstream length %s", resp.StatusCode, len(got), resp.Header.Get("X-Echo-Length"))
	}
	if code, h, body := call(t, "HEAD", wd.url+"/", ""); code != 200 || body != "" || h.Get("X-Echo-Method") != "HEAD" {
		t.Errorf("HEAD: %d %q %v", code, body, h)
	}
	if code, _, body := call(t, "GET", wd.url+"/chunked", ""); code != 200 || body != "part0;part1;part2;" {
		t.Errorf("chunked answer: %d %q", code, body)
	}
	for i := 0; i < 3; i++ { // the upstream closes after each: a new connection each time
		if code, _, body := call(t, "GET", wd.url+"/close", ""); code != 200 || body != "closing" {
			t.Errorf("Connection: close answer %d: %d %q", i, code, body)
		}
	}
}

// TestHTTPModeStaleConnection: a kept-alive connection the upstream closed
// while idle is retried on a new one, invisibly to the caller.
func TestHTTPModeStaleConnection(t *testing.T) {
	wd := start(t, httpModeConfig(t, "ECHO_IDLE_TIMEOUT=50ms"))
	for i := 0; i < 3; i++ {
		if code, _, body := call(t, "POST", wd.url+"/", "again"); code != 200 || body != "again" {
			t.Fatalf("call %d: %d %q", i, code, body)
		}
		time.Sleep(200 * time.Millisecond) // let the upstream's idle timeout close the pooled connection
	}
}

// TestHTTPModeEarlyAnswer: an upstream that answers before reading a large
// streamed body neither hangs the watchdog nor poisons the connection pool.
func TestHTTPModeEarlyAnswer(t *testing.T) {
	wd := start(t, httpModeConfig(t, "exec_timeout=0"))
	for i := 0; i < 3; i++ {
		body := struct{ *strings.Reader }{strings.NewReader(strings.Repeat("z", 4<<20))}
		req, _ := http.NewRequest("POST", wd.url+"/early", body)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("call %d: %d, want 413", i, resp.StatusCode)
		}
		if code, _, b := call(t, "POST", wd.url+"/", "after"); code != 200 || b != "after" {
			t.Fatalf("next call %d: %d %q", i, code, b)
		}
	}
}

// TestUnixSocket: with FERRY_UNIX_SOCKET the watchdog serves the same
// function on that socket too (an abstract name here), and closes it when
// it stops; a name already taken is a clear error at start.
func TestUnixSocket(t *testing.T) {
	name := fmt.Sprintf("@ferry-watchdog-test-%d", os.Getpid())
	wd := start(t, httpModeConfig(t, "FERRY_UNIX_SOCKET="+name))
	client := harness.UnixClient(name)
	defer client.CloseIdleConnections()
	resp, err := client.Post("http://fn/over/unix", "text/plain", strings.NewReader("via unix"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "via unix" || resp.Header.Get("X-Echo-Path") != "/over/unix" {
		t.Fatalf("over the Unix socket: %d %q path %q", resp.StatusCode, body, resp.Header.Get("X-Echo-Path"))
	}
	if !eventuallyLogs(wd, " unix="+name+"\n") {
		t.Errorf("the ready line does not name the Unix socket:\n%s", wd.logs)
	}

	_, err = listenUnixTaken(name)
	if err == nil || !strings.Contains(err.Error(), "FERRY_UNIX_SOCKET") {
		t.Errorf("a second watchdog on the same name: err %v, want one naming FERRY_UNIX_SOCKET", err)
	}
	if err := wd.stop(t); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("unix", name); err == nil {
		c.Close()
		t.Error("the Unix socket still accepts after the watchdog stopped")
	}
}

// TestUnixSocketInherited: with FERRY_UNIX_FD the watchdog serves the
// listening socket its supervisor bound (and names it as FERRY_UNIX_SOCKET
// says) instead of binding one, so no other process can take the name
// first.
func TestUnixSocketInherited(t *testing.T) {
	name := fmt.Sprintf("@ferry-watchdog-test-fd-%d", os.Getpid())
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: name}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 16); err != nil {
		t.Fatal(err)
	}
	cfg := httpModeConfig(t, "FERRY_UNIX_SOCKET="+name, fmt.Sprintf("FERRY_UNIX_FD=%d", fd))
	if cfg.UnixFD != fd {
		t.Fatalf("UnixFD = %d, want %d", cfg.UnixFD, fd)
	}
	wd := start(t, cfg)
	client := harness.UnixClient(name)
	defer client.CloseIdleConnections()
	resp, err := client.Post("http://fn/inherited", "text/plain", strings.NewReader("via fd"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "via fd" {
		t.Fatalf("over the inherited socket: %d %q", resp.StatusCode, body)
	}
	if !eventuallyLogs(wd, " unix="+name+"\n") {
		t.Errorf("the ready line does not name the Unix socket:\n%s", wd.logs)
	}
	for _, bad := range []string{"1", "-3", "x"} {
		if _, err := ConfigFromEnv([]string{"fprocess=cat", "FERRY_UNIX_FD=" + bad}); err == nil || !strings.Contains(err.Error(), "FERRY_UNIX_FD") {
			t.Errorf("FERRY_UNIX_FD=%s: %v, want an error naming it", bad, err)
		}
	}
}

// listenUnixTaken runs listen as a second watchdog with the same socket.
func listenUnixTaken(name string) (net.Listener, error) {
	ln, mln, uln, err := listen(Config{BindAddress: "127.0.0.1", MetricsPort: -1, UnixSocket: name})
	for _, l := range []net.Listener{ln, mln, uln} {
		if l != nil {
			l.Close()
		}
	}
	return uln, err
}

// eventuallyLogs waits up to 2 s for want in the watchdog's log (its ready
// line is written just after it signals readiness).
func eventuallyLogs(wd *instance, want string) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(wd.logs.String(), want) {
			return true
		}
	}
	return false
}

// TestTCPListenersInherited: with FERRY_LISTEN_FD and FERRY_METRICS_FD the
// watchdog serves the TCP listeners its supervisor bound (and holds), not
// port and metrics_port.
func TestTCPListenersInherited(t *testing.T) {
	var files [2]*os.File
	var addrs [2]string
	for i := range files {
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = l.Addr().String()
		if files[i], err = l.File(); err != nil {
			t.Fatal(err)
		}
		l.Close()
		defer files[i].Close()
	}
	// listen takes the fds over (it closes them): give it duplicates.
	fd0, _ := syscall.Dup(int(files[0].Fd()))
	fd1, _ := syscall.Dup(int(files[1].Fd()))
	cfg, err := ConfigFromEnv([]string{"fprocess=cat", "port=1", "metrics_port=2",
		fmt.Sprintf("FERRY_LISTEN_FD=%d", fd0), fmt.Sprintf("FERRY_METRICS_FD=%d", fd1)})
	if err != nil {
		t.Fatal(err)
	}
	ln, mln, uln, err := listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	defer mln.Close()
	if uln != nil || ln.Addr().String() != addrs[0] || mln.Addr().String() != addrs[1] {
		t.Fatalf("serves %v and %v, want %v", ln.Addr(), mln.Addr(), addrs)
	}
	for _, name := range []string{"FERRY_LISTEN_FD", "FERRY_METRICS_FD"} {
		for _, bad := range []string{"1", "-3", "x"} {
			if _, err := ConfigFromEnv([]string{"fprocess=cat", name + "=" + bad}); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%s: %v, want an error naming it", name, bad, err)
			}
		}
	}
}

// BenchmarkHTTPModeColdStart is the time from starting the watchdog to
// ready, with a Go function server (the test binary) as the upstream.
func BenchmarkHTTPModeColdStart(b *testing.B) {
	for b.Loop() {
		addr := fmt.Sprintf("127.0.0.1:%d", benchFreePort(b))
		env := append(os.Environ(), "healthcheck_interval=0", "mode=http", "fprocess="+os.Args[0],
			"upstream_url=http://"+addr, "WATCHDOG_TEST_ROLE=echo", "ECHO_ADDR="+addr, "port=0")
		cfg, err := ConfigFromEnv(env)
		if err != nil {
			b.Fatal(err)
		}
		_, stop := benchRun(b, cfg)
		b.StopTimer()
		stop()
		b.StartTimer()
	}
}
