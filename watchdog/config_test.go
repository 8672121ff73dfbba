package watchdog

import (
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c, err := ConfigFromEnv([]string{"fprocess=cat", "PATH=/bin", "FERRY_READY_FD=3", "FERRY_UID=1000",
		"FERRY_ADMIN_PASSWORD=x", "FERRY_GATEWAY_URL=http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != ModeStreaming || c.Port != 8080 || c.MetricsPort != 8081 || c.BindAddress != "" {
		t.Errorf("mode/port/metrics/bind = %s %d %d %q", c.Mode, c.Port, c.MetricsPort, c.BindAddress)
	}
	if c.ReadTimeout != 10*time.Second || c.WriteTimeout != 10*time.Second || c.ExecTimeout != 10*time.Second {
		t.Errorf("timeouts %s %s %s", c.ReadTimeout, c.WriteTimeout, c.ExecTimeout)
	}
	if c.HealthcheckInterval != 5*time.Second {
		t.Errorf("drain default %s, want write_timeout capped at 5s", c.HealthcheckInterval)
	}
	if !c.PrefixLogs || c.CombineOutput || c.SuppressLock || c.StaticPath != "/home/app/public" || c.LockDir != "/tmp" {
		t.Errorf("bools/static/lock: %+v", c)
	}
	if c.ReadyFD != 3 || c.UID != 1000 || c.GID != -1 {
		t.Errorf("ferry vars: fd %d uid %d gid %d", c.ReadyFD, c.UID, c.GID)
	}
	if got := strings.Join(c.FunctionEnv, " "); got != "fprocess=cat PATH=/bin FERRY_GATEWAY_URL=http://127.0.0.1:8080" {
		t.Errorf("FunctionEnv = %q, want fprocess, PATH and FERRY_GATEWAY_URL only", got)
	}
}

func TestConfigOverrides(t *testing.T) {
	c, err := ConfigFromEnv([]string{"mode=HTTP", "fprocess=./server", "upstream_url=http://127.0.0.1:3000",
		"port=9000", "metrics_port=0", "bind_address=127.0.0.1", "read_timeout=2", "write_timeout=1m",
		"exec_timeout=1.5", "healthcheck_interval=0", "max_inflight=7", "content_type=text/plain",
		"prefix_logs=false", "combine_output=true", "suppress_lock=1", "http_buffer_req_body=true",
		"TMPDIR=/run/x", "static_path=/srv"})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Mode: ModeHTTP, Port: 9000, MetricsPort: -1, BindAddress: "127.0.0.1",
		ReadTimeout: 2 * time.Second, WriteTimeout: time.Minute, ExecTimeout: 1500 * time.Millisecond,
		MaxInflight: 7, ContentType: "text/plain", CombineOutput: true, SuppressLock: true, BufferBody: true,
		LockDir: "/run/x", StaticPath: "/srv"}
	if c.Mode != want.Mode || c.Port != want.Port || c.MetricsPort != want.MetricsPort || c.BindAddress != want.BindAddress ||
		c.ReadTimeout != want.ReadTimeout || c.WriteTimeout != want.WriteTimeout || c.ExecTimeout != want.ExecTimeout ||
		c.HealthcheckInterval != 0 || c.MaxInflight != want.MaxInflight || c.ContentType != want.ContentType ||
		c.PrefixLogs || !c.CombineOutput || !c.SuppressLock || !c.BufferBody || c.LockDir != want.LockDir || c.StaticPath != want.StaticPath {
		t.Errorf("got %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string][]string{
		"mode":           {"mode=cgi", "fprocess=cat"},
		"http needs url": {"mode=http", "fprocess=x"},
		"http bad url":   {"mode=http", "fprocess=x", "upstream_url=localhost:3000"},
		"fork needs cmd": {"mode=serializing"},
		"bad duration":   {"fprocess=cat", "exec_timeout=soon"},
		"negative":       {"fprocess=cat", "read_timeout=-1s"},
		"bad port":       {"fprocess=cat", "port=70000"},
		"bad inflight":   {"fprocess=cat", "max_inflight=-2"},
		"bad bool":       {"fprocess=cat", "prefix_logs=maybe"},
		"bad ready fd":   {"fprocess=cat", "FERRY_READY_FD=x"},
		"bad uid":        {"fprocess=cat", "FERRY_UID=root"},
		"bad tmpfs size": {"fprocess=cat", "FERRY_TMPFS_SIZE=64Mi"},
		"bad log format": {"fprocess=cat", "log_format=logfmt"},
	}
	for name, env := range cases {
		if _, err := ConfigFromEnv(env); err == nil {
			t.Errorf("%s: %q accepted", name, env)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", name, err)
		}
	}
	if _, err := ConfigFromEnv([]string{"mode=static"}); err != nil {
		t.Errorf("static without fprocess: %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"10s": 10 * time.Second, "10": 10 * time.Second, " 2.5 ": 2500 * time.Millisecond,
		"0": 0, "1m30s": 90 * time.Second, "250ms": 250 * time.Millisecond,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "-3s", "NaN", "1e300", "10 s"} {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %s, want error", in, d)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"10s", "10", "2.5", "-1", "1h2m", "NaN", "Inf", "1e19", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %s: negative accepted", s, d)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error %q", err)
		}
	})
}

func FuzzConfigFromEnv(f *testing.F) {
	f.Add("mode=http\x00fprocess=x\x00upstream_url=http://127.0.0.1:1\x00exec_timeout=3")
	f.Add("fprocess=cat\x00port=0\x00max_inflight=10\x00FERRY_READY_FD=4")
	f.Add("=\x00mode\x00port=99999\x00read_timeout=1e400")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ConfigFromEnv(strings.Split(s, "\x00"))
		if err != nil {
			return
		}
		if c.Port < 0 || c.Port > 65535 || c.MetricsPort < -1 || c.MetricsPort > 65535 {
			t.Fatalf("ports out of range: %d %d", c.Port, c.MetricsPort)
		}
		if c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.ExecTimeout < 0 || c.HealthcheckInterval < 0 || c.MaxInflight < 0 {
			t.Fatalf("negative value accepted: %+v", c)
		}
		if c.Validate() != nil {
			t.Fatalf("accepted config fails Validate: %v", c.Validate())
		}
		for _, kv := range c.FunctionEnv {
			if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "FERRY_") && !FunctionFerryVars[k] {
				t.Fatalf("FERRY_ variable leaks to the function: %q", kv)
			}
		}
	})
}

// TestOneCallOneTimeout: exec_timeout and write_timeout make one limit,
// the smaller; one given alone sets both, so a long call is answered with
// its 408/504 instead of having its connection cut at the default 10 s.
func TestOneCallOneTimeout(t *testing.T) {
	for _, c := range []struct {
		exec, write      string
		wantExec, wantWr time.Duration
	}{
		{"", "", 10 * time.Second, 10 * time.Second},
		{"30s", "", 30 * time.Second, 30 * time.Second},
		{"", "45s", 45 * time.Second, 45 * time.Second},
		{"30s", "5s", 5 * time.Second, 5 * time.Second},
		{"5s", "30s", 5 * time.Second, 30 * time.Second},
		{"0", "", 0, 0},
		{"0", "20s", 20 * time.Second, 20 * time.Second},
	} {
		env := []string{"fprocess=cat"}
		if c.exec != "" {
			env = append(env, "exec_timeout="+c.exec)
		}
		if c.write != "" {
			env = append(env, "write_timeout="+c.write)
		}
		cfg, err := ConfigFromEnv(env)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ExecTimeout != c.wantExec || cfg.WriteTimeout != c.wantWr {
			t.Errorf("exec_timeout=%q write_timeout=%q: exec %s write %s, want %s %s",
				c.exec, c.write, cfg.ExecTimeout, cfg.WriteTimeout, c.wantExec, c.wantWr)
		}
	}
}
