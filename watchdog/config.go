package watchdog

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Mode selects how requests reach the function.
type Mode string

// The four watchdog modes of the OpenFaaS contract.
const (
	ModeHTTP        Mode = "http"        // fprocess started once, requests proxied to upstream_url
	ModeStreaming   Mode = "streaming"   // fork per request, stdout streamed back
	ModeSerializing Mode = "serializing" // fork per request, stdout buffered whole
	ModeStatic      Mode = "static"      // files served from static_path
)

// Defaults of the contract (of-watchdog's values).
const (
	DefaultPort        = 8080
	DefaultMetricsPort = 8081
	DefaultTimeout     = 10 * time.Second
	DefaultStaticPath  = "/home/app/public"
	// maxDefaultDrain caps the drain time derived from write_timeout: a long
	// write_timeout should not make every replica stop take minutes.
	maxDefaultDrain = 5 * time.Second
)

// Config is the watchdog's whole configuration; ConfigFromEnv builds it from
// the environment variables of the contract.
type Config struct {
	Mode        Mode
	FProcess    string // command line of the function
	UpstreamURL string // http mode: where the function listens

	BindAddress string // "" = all interfaces
	Port        int    // 0 = any free port
	MetricsPort int    // -1 = no metrics server, 0 = any free port

	ReadTimeout         time.Duration
	WriteTimeout        time.Duration
	ExecTimeout         time.Duration // 0 = no limit
	HealthcheckInterval time.Duration // drain time after SIGTERM

	MaxInflight   int    // 0 = unlimited
	ContentType   string // forced response Content-Type ("" = function's own)
	PrefixLogs    bool   // prefix function output lines in the log
	CombineOutput bool   // fork modes: stderr goes to the response too
	SuppressLock  bool   // do not write $TMPDIR/.lock
	LockDir       string // directory of the lock file ($TMPDIR or /tmp)
	StaticPath    string
	BufferBody    bool // http mode: read the whole request body before proxying

	ReadyFD int // FERRY_READY_FD, -1 = none
	// UnixSocket (FERRY_UNIX_SOCKET) is a Unix socket served besides the
	// port, '@' first for an abstract name: Ferry's gateway on the same
	// machine proxies calls through it, skipping the TCP/IP stack.
	UnixSocket string
	// UnixFD (FERRY_UNIX_FD) is an inherited listening socket to serve
	// instead of binding UnixSocket, which then only names it: Ferry's
	// process runtime binds it itself so that no function can take the
	// name first. 0 = none (an inherited fd is 3 or more).
	UnixFD int
	// ListenFD and MetricsFD (FERRY_LISTEN_FD, FERRY_METRICS_FD) are
	// inherited TCP listeners served instead of binding port and
	// metrics_port: Ferry's process runtime binds them itself and keeps
	// them for the replica's life, so that no other process can take a
	// replica's port, before it starts or after it died while the gateway
	// may still call it. 0 = none.
	ListenFD, MetricsFD int
	SecretsBind         string // FERRY_SECRETS_BIND
	WorkdirBind         string // FERRY_WORKDIR_BIND: bound at /home/app, the cwd
	TmpBind             string // FERRY_TMP_BIND: bound at /var/openfaas/tmp, the TMPDIR
	UID, GID            int    // FERRY_UID / FERRY_GID, -1 = keep
	// Cgroups (FERRY_CGROUPS, colon-separated) are the cgroup dirs the
	// watchdog joins before anything else, so every process it starts
	// is born inside its limits.
	Cgroups []string
	// TmpfsSize (FERRY_TMPFS_SIZE, bytes) gives the replica a private
	// tmpfs of that size at /tmp (also seen at /var/tmp) and another at
	// /dev/shm. 0 = the host's.
	TmpfsSize int64
	// PrivateProc (FERRY_PRIVATE_PROC=1) mounts a procfs of its own at
	// /proc that shows only the processes of the function's own user.
	PrivateProc bool
	// ReadOnlyRoot (FERRY_READONLY_ROOT=1) makes every mount read-only
	// except the private /tmp, /var/tmp, /dev/shm and TMPDIR.
	ReadOnlyRoot bool

	// FunctionEnv is the environment given to the function: the watchdog's
	// own minus every FERRY_* variable not in FunctionFerryVars.
	FunctionEnv []string

	// Optional hooks for embedding and tests; nil means the defaults.
	Listener        net.Listener // used instead of BindAddress:Port
	MetricsListener net.Listener // used instead of BindAddress:MetricsPort
	Log             io.Writer    // watchdog and function log lines (default os.Stderr)
	// LogFormat (log_format) is the watchdog's own records' format: text
	// (key=value, the default) or json. The function's output lines are
	// written as they come (prefixed with prefix_logs), in neither.
	LogFormat string
	OnReady   func() // called once the watchdog is ready
	// Handler, when set, runs every function call instead of the mode's
	// handler: another runtime (the wasm runtime) keeps the watchdog's
	// health, max_inflight, metrics and drain and runs calls its own way.
	Handler http.Handler

	exitGrace time.Duration // tests: shorter than defaultExitGrace
}

// FunctionFerryVars are the FERRY_* variables a function may see (chaining
// through the gateway). Every other FERRY_* variable is
// removed from the function's environment: they steer the watchdog and the
// server (readiness fd, secrets dir, uid, admin password...), not functions.
var FunctionFerryVars = map[string]bool{"FERRY_GATEWAY_URL": true}

// ConfigFromEnv parses the watchdog variables out of environ ("KEY=value"
// entries, as os.Environ returns). Unknown variables are ignored.
func ConfigFromEnv(environ []string) (Config, error) {
	env := make(map[string]string, len(environ))
	c := Config{ReadyFD: -1, UID: -1, GID: -1}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		env[k] = v
		if !strings.HasPrefix(k, "FERRY_") || FunctionFerryVars[k] {
			c.FunctionEnv = append(c.FunctionEnv, kv)
		}
	}
	var errs []error
	fail := func(err error) { errs = append(errs, err) }

	c.FProcess = strings.TrimSpace(env["fprocess"])
	c.Mode = Mode(strings.ToLower(strings.TrimSpace(env["mode"])))
	if c.Mode == "" {
		c.Mode = ModeStreaming
	}
	switch c.Mode {
	case ModeHTTP, ModeStreaming, ModeSerializing, ModeStatic:
	default:
		fail(fmt.Errorf("mode %q is not one of http, streaming, serializing, static", c.Mode))
	}
	c.UpstreamURL = strings.TrimSpace(env["upstream_url"])
	c.BindAddress = strings.TrimSpace(env["bind_address"])

	var err error
	if c.Port, err = envPort(env, "port", DefaultPort); err != nil {
		fail(err)
	}
	if c.MetricsPort, err = envPort(env, "metrics_port", DefaultMetricsPort); err != nil {
		fail(err)
	}
	if v, ok := env["metrics_port"]; ok && strings.TrimSpace(v) == "0" {
		c.MetricsPort = -1 // the contract: 0 disables metrics
	}
	if c.ReadTimeout, err = envDuration(env, "read_timeout", DefaultTimeout); err != nil {
		fail(err)
	}
	if c.WriteTimeout, err = envDuration(env, "write_timeout", DefaultTimeout); err != nil {
		fail(err)
	}
	if c.ExecTimeout, err = envDuration(env, "exec_timeout", DefaultTimeout); err != nil {
		fail(err)
	}
	// One call has one limit: the smaller of the two, and one given alone
	// sets both. Else a call outliving write_timeout had its connection
	// cut without an answer (the 408/504 goes out at exec_timeout, just
	// inside write_timeout, see addGrace), and the caller could not tell
	// a finished call from a lost one.
	hasExec := strings.TrimSpace(env["exec_timeout"]) != ""
	hasWrite := strings.TrimSpace(env["write_timeout"]) != ""
	switch {
	case hasExec && !hasWrite:
		c.WriteTimeout = c.ExecTimeout
	case hasWrite && !hasExec:
		c.ExecTimeout = c.WriteTimeout
	case c.WriteTimeout > 0 && (c.ExecTimeout == 0 || c.ExecTimeout > c.WriteTimeout):
		c.ExecTimeout = c.WriteTimeout
	}
	c.HealthcheckInterval = min(c.WriteTimeout, maxDefaultDrain)
	if c.HealthcheckInterval, err = envDuration(env, "healthcheck_interval", c.HealthcheckInterval); err != nil {
		fail(err)
	}
	if c.MaxInflight, err = envInt(env, "max_inflight", 0); err != nil {
		fail(err)
	}
	c.ContentType = strings.TrimSpace(env["content_type"])
	c.LogFormat = strings.ToLower(strings.TrimSpace(env["log_format"]))
	switch c.LogFormat {
	case "", "text", "json":
	default:
		fail(fmt.Errorf("log_format %q is not one of text, json", c.LogFormat))
	}
	if c.PrefixLogs, err = envBool(env, "prefix_logs", true); err != nil {
		fail(err)
	}
	if c.CombineOutput, err = envBool(env, "combine_output", false); err != nil {
		fail(err)
	}
	if c.SuppressLock, err = envBool(env, "suppress_lock", false); err != nil {
		fail(err)
	}
	if c.BufferBody, err = envBool(env, "buffer_http", false); err != nil {
		fail(err)
	}
	if !c.BufferBody {
		if c.BufferBody, err = envBool(env, "http_buffer_req_body", false); err != nil {
			fail(err)
		}
	}
	c.StaticPath = strings.TrimSpace(env["static_path"])
	if c.StaticPath == "" {
		c.StaticPath = DefaultStaticPath
	}
	c.LockDir = env["TMPDIR"]
	if c.LockDir == "" {
		c.LockDir = "/tmp"
	}

	if v, ok := env["FERRY_READY_FD"]; ok && v != "" {
		if c.ReadyFD, err = strconv.Atoi(v); err != nil || c.ReadyFD < 0 {
			fail(fmt.Errorf("FERRY_READY_FD=%q is not a file descriptor number", v))
			c.ReadyFD = -1
		}
	}
	c.UnixSocket = env["FERRY_UNIX_SOCKET"]
	if c.UnixFD, err = envInt(env, "FERRY_UNIX_FD", 0); err != nil || c.UnixFD != 0 && c.UnixFD < 3 {
		fail(fmt.Errorf("FERRY_UNIX_FD=%q is not an inherited file descriptor number (3 or more)", env["FERRY_UNIX_FD"]))
		c.UnixFD = 0
	}
	for _, v := range []struct {
		name string
		fd   *int
	}{{"FERRY_LISTEN_FD", &c.ListenFD}, {"FERRY_METRICS_FD", &c.MetricsFD}} {
		if *v.fd, err = envInt(env, v.name, 0); err != nil || *v.fd != 0 && *v.fd < 3 {
			fail(fmt.Errorf("%s=%q is not an inherited file descriptor number (3 or more)", v.name, env[v.name]))
			*v.fd = 0
		}
	}
	c.SecretsBind = env["FERRY_SECRETS_BIND"]
	c.WorkdirBind = env["FERRY_WORKDIR_BIND"]
	c.TmpBind = env["FERRY_TMP_BIND"]
	if v := env["FERRY_CGROUPS"]; v != "" {
		c.Cgroups = strings.Split(v, ":")
	}
	if v, ok := env["FERRY_TMPFS_SIZE"]; ok {
		if c.TmpfsSize, err = strconv.ParseInt(v, 10, 64); err != nil || c.TmpfsSize <= 0 {
			fail(fmt.Errorf("FERRY_TMPFS_SIZE=%q is not a size in bytes", v))
			c.TmpfsSize = 0
		}
	}
	c.PrivateProc = env["FERRY_PRIVATE_PROC"] == "1"
	c.ReadOnlyRoot = env["FERRY_READONLY_ROOT"] == "1"
	if c.UID, err = envInt(env, "FERRY_UID", -1); err != nil {
		fail(err)
	}
	if c.GID, err = envInt(env, "FERRY_GID", -1); err != nil {
		fail(err)
	}

	if err := c.Validate(); err != nil {
		fail(err)
	}
	return c, errors.Join(errs...)
}

// Validate checks the combinations the watchdog cannot run with.
func (c *Config) Validate() error {
	if c.Handler != nil {
		return nil // the embedder runs the calls
	}
	switch c.Mode {
	case ModeHTTP:
		if c.FProcess == "" {
			return errors.New("mode http needs fprocess (the command that starts the function's server)")
		}
		if c.UpstreamURL == "" {
			return errors.New("mode http needs upstream_url (for example http://127.0.0.1:3000)")
		}
		u, err := url.Parse(c.UpstreamURL)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return fmt.Errorf("upstream_url %q is not an http:// URL with a host", c.UpstreamURL)
		}
	case ModeStreaming, ModeSerializing:
		if c.FProcess == "" {
			return fmt.Errorf("mode %s needs fprocess (the command run per request, e.g. fprocess=cat)", c.Mode)
		}
	}
	return nil
}

// ParseDuration accepts a Go duration ("10s", "1m30s") or a bare number of
// seconds ("10", "2.5"), as the OpenFaaS watchdogs do. Negative values fail.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || math.IsNaN(f) || f*float64(time.Second) > math.MaxInt64 {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: use 10s, 1m or a number of seconds", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}

func envDuration(env map[string]string, key string, def time.Duration) (time.Duration, error) {
	v, ok := env[key]
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	d, err := ParseDuration(v)
	if err != nil {
		return def, fmt.Errorf("%s: %w", key, err)
	}
	return d, nil
}

func envInt(env map[string]string, key string, def int) (int, error) {
	v, ok := env[key]
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return def, fmt.Errorf("%s=%q is not a non-negative integer", key, v)
	}
	return n, nil
}

func envPort(env map[string]string, key string, def int) (int, error) {
	n, err := envInt(env, key, def)
	if err == nil && n > 65535 {
		return def, fmt.Errorf("%s=%d is not a TCP port (0-65535)", key, n)
	}
	return n, err
}

func envBool(env map[string]string, key string, def bool) (bool, error) {
	v, ok := env[key]
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return def, fmt.Errorf("%s=%q is not a boolean (true/false)", key, v)
	}
	return b, nil
}
