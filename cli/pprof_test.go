package cli

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
)

// --pprof-listen (default $FERRY_PPROF_ADDR) serves the profiler, on
// loopback only: it has no authentication.
func TestPprofListen(t *testing.T) {
	isolate(t)
	if ln, err := listenPprof(""); ln != nil || err != nil {
		t.Fatalf("off by default: %v %v", ln, err)
	}
	ln, err := listenPprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	servePprof(ln, slog.New(slog.DiscardHandler))
	res, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}

	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:6060"} {
		runCLI(t, "", "serve", "--pprof-listen", addr, "--listen", "127.0.0.1:0").fails(t, "--pprof-listen "+addr+": the profiler has no authentication")
	}
	runCLI(t, "", "serve", "--pprof-listen", "nonsense", "--listen", "127.0.0.1:0").fails(t, `--pprof-listen "nonsense": use host:port`)
	t.Setenv("FERRY_PPROF_ADDR", "0.0.0.0:0")
	runCLI(t, "", "serve", "--listen", "127.0.0.1:0").fails(t, "--pprof-listen 0.0.0.0:0")
}
