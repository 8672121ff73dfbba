package watchdog

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCommandArgv(t *testing.T) {
	for in, want := range map[string]string{
		"cat":                       "cat",
		"  python3  index.py ":      "python3|index.py",
		"sh -c 'echo hi'":           "/bin/sh|-c|sh -c 'echo hi'",
		"env | grep Http_":          "/bin/sh|-c|env | grep Http_",
		"node index.js > /dev/null": "/bin/sh|-c|node index.js > /dev/null",
		"FOO=1 run":                 "/bin/sh|-c|FOO=1 run",
	} {
		argv, err := commandArgv(in)
		if err != nil || strings.Join(argv, "|") != want {
			t.Errorf("commandArgv(%q) = %q, %v; want %q", in, argv, err, want)
		}
	}
	if _, err := commandArgv("  "); err == nil {
		t.Error("empty fprocess accepted")
	}
}

func TestForkModesEcho(t *testing.T) {
	for _, mode := range []string{"streaming", "serializing"} {
		t.Run(mode, func(t *testing.T) {
			wd := start(t, testConfig(t, "mode="+mode, "fprocess=cat"))
			code, h, body := call(t, "POST", wd.url+"/", "hello, function")
			if code != 200 || body != "hello, function" {
				t.Fatalf("POST: %d %q", code, body)
			}
			if _, err := strconv.ParseFloat(h.Get("X-Duration-Seconds"), 64); err != nil {
				t.Errorf("X-Duration-Seconds = %q", h.Get("X-Duration-Seconds"))
			}
			code, _, body = call(t, "GET", wd.url+"/", "")
			if code != 200 || body != "" {
				t.Errorf("GET without body: %d %q", code, body)
			}
			big := strings.Repeat("0123456789abcdef", 64*1024) // 1 MiB, larger than any pipe buffer
			if code, _, body = call(t, "POST", wd.url+"/", big); code != 200 || body != big {
				t.Errorf("1 MiB echo: %d, %d bytes", code, len(body))
			}
		})
	}
}

func TestForkRequestEnv(t *testing.T) {
	wd := start(t, testConfig(t, "mode=serializing", "fprocess=env", "MY_FN_VAR=kept"))
	code, _, body := call(t, "POST", wd.url+"/some/path?a=1&b=two", "12345",
		"X-Call-Id", "abc-123", "Content-Type", "text/plain", "X-Multi-Word-Header", "v")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	env := map[string]string{}
	for _, line := range strings.Split(body, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	for k, want := range map[string]string{
		"Http_X_Call_Id": "abc-123", "Http_Content_Type": "text/plain", "Http_X_Multi_Word_Header": "v",
		"Http_Method": "POST", "Http_Path": "/some/path", "Http_Query": "a=1&b=two",
		"Http_ContentLength": "5", "MY_FN_VAR": "kept", "fprocess": "env",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
}

func TestForkContentTypeAndShell(t *testing.T) {
	wd := start(t, testConfig(t, "mode=streaming", "fprocess=echo $Http_Method-$Http_Query", "content_type=application/json"))
	code, h, body := call(t, "PUT", wd.url+"/?q=7", "")
	if code != 200 || body != "PUT-q=7\n" || h.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %q %q", code, body, h.Get("Content-Type"))
	}
}

func TestForkNonZeroExit(t *testing.T) {
	for _, mode := range []string{"streaming", "serializing"} {
		t.Run(mode, func(t *testing.T) {
			wd := start(t, testConfig(t, "mode="+mode, "fprocess=echo something broke >&2; exit 3"))
			code, _, body := call(t, "POST", wd.url+"/", "x")
			if code != 500 || !strings.Contains(body, "something broke") {
				t.Errorf("got %d %q, want 500 with stderr", code, body)
			}
			if logs := wd.logs.String(); !strings.Contains(logs, "stderr: something broke") {
				t.Errorf("stderr not logged with prefix; logs:\n%s", logs)
			}
			wd2 := start(t, testConfig(t, "mode="+mode, "fprocess=false"))
			if code, _, body := call(t, "GET", wd2.url+"/", ""); code != 500 || !strings.Contains(body, "exit status 1") {
				t.Errorf("silent failure: %d %q", code, body)
			}
		})
	}
}

func TestForkCombineOutput(t *testing.T) {
	wd := start(t, testConfig(t, "mode=serializing", "fprocess=echo out; echo err >&2", "combine_output=true"))
	if code, _, body := call(t, "GET", wd.url+"/", ""); code != 200 || !strings.Contains(body, "out") || !strings.Contains(body, "err") {
		t.Errorf("got %d %q", code, body)
	}
}

func TestForkPrefixLogsOff(t *testing.T) {
	wd := start(t, testConfig(t, "mode=serializing", "fprocess=echo raw-line >&2", "prefix_logs=false"))
	call(t, "GET", wd.url+"/", "")
	wd.stop(t)
	if logs := wd.logs.String(); !strings.Contains(logs, "\nraw-line\n") && !strings.HasPrefix(logs, "raw-line\n") {
		t.Errorf("want the bare line in logs:\n%s", logs)
	}
}

// TestStreamingFullDuplex: output is streamed while the body is still being
// sent, which proves nothing is buffered on either side.
func TestStreamingFullDuplex(t *testing.T) {
	wd := start(t, testConfig(t, "mode=streaming", "fprocess=cat"))
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", wd.url+"/", pr)
	respCh := make(chan *http.Response, 1)
	errCh := make(chan error, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			errCh <- err
			return
		}
		respCh <- resp
	}()
	io.WriteString(pw, "first line\n")
	var resp *http.Response
	select {
	case resp = <-respCh:
	case err := <-errCh:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("no response headers while the body is still open: output is buffered")
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	line, err := rd.ReadString('\n')
	if err != nil || line != "first line\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	io.WriteString(pw, "second line\n")
	pw.Close()
	rest, _ := io.ReadAll(rd)
	if string(rest) != "second line\n" {
		t.Errorf("rest %q", rest)
	}
}

func TestForkMissingCommand(t *testing.T) {
	cfg := testConfig(t, "fprocess=/nonexistent/fn")
	inst := startNoWait(t, cfg)
	select {
	case err := <-inst.done:
		inst.done <- err
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/fn") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watchdog started with a missing fprocess")
	}
}

// TestWriteTimeoutBelowExecTimeout: a call that outlives write_timeout is
// answered 408 at write_timeout (the smaller limit) instead of having its
// connection closed with no answer, which a caller cannot tell from a
// replica that died.
func TestWriteTimeoutBelowExecTimeout(t *testing.T) {
	wd := start(t, testConfig(t, "mode=serializing", "fprocess=sleep 5", "exec_timeout=4s", "write_timeout=700ms"))
	t0 := time.Now()
	code, _, body := call(t, "POST", wd.url+"/", "x")
	if code != 408 || time.Since(t0) > 3*time.Second {
		t.Fatalf("got %d %q after %s, want 408 at about 700ms", code, body, time.Since(t0))
	}
}

// TestHeadersCannotPoseAsRequestVars: a header named Query, Path or
// Method does not set (or override) the request's own Http_Query, Http_Path
// or Http_Method (the function would trust a query the caller never sent).
func TestHeadersCannotPoseAsRequestVars(t *testing.T) {
	r := httptest.NewRequest("POST", "/real/path", nil)
	r.Header.Set("Query", "admin=true")
	r.Header.Set("Path", "/forged")
	r.Header.Set("Method", "DELETE")
	r.Header.Set("X-Ok", "kept")
	got := map[string]string{}
	for _, kv := range RequestEnv(nil, r) {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := got[k]; dup {
			t.Errorf("%s set twice", k)
		}
		got[k] = v
	}
	if _, ok := got["Http_Query"]; ok {
		t.Errorf("Http_Query=%q from a header, with no query string", got["Http_Query"])
	}
	if got["Http_Path"] != "/real/path" || got["Http_Method"] != "POST" || got["Http_X_Ok"] != "kept" {
		t.Errorf("env %v", got)
	}
}

// TestStreamingFailureAfterOutput: a streaming function that writes and
// then exits non-zero within the hold is a 500 carrying what it wrote (and
// so counted as a failed call), not a 200; one that keeps writing past the
// hold still streams, its first line arriving long before it ends.
func TestStreamingFailureAfterOutput(t *testing.T) {
	wd := start(t, testConfig(t, "mode=streaming", "fprocess=echo oops; exit 3"))
	if code, _, body := call(t, "POST", wd.url+"/", "x"); code != 500 || !strings.Contains(body, "oops") {
		t.Errorf("got %d %q, want 500 with the function's output", code, body)
	}
	wd2 := start(t, testConfig(t, "mode=streaming", "fprocess=echo first; sleep 1; echo second"))
	began := time.Now()
	resp, err := client.Get(wd2.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "first\n" || resp.StatusCode != 200 {
		t.Fatalf("first line %q %v, status %d", line, err, resp.StatusCode)
	}
	if took := time.Since(began); took > 600*time.Millisecond {
		t.Errorf("the first line took %s: a stream must not wait for the process to end", took)
	}
}
