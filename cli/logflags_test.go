package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Each level drops the records below it, and json writes one object a
// line with the error under "err".
func TestLogFlags(t *testing.T) {
	for _, c := range []struct {
		level string
		want  []string // messages written, of debug, info, warn, error
	}{
		{"debug", []string{"d", "i", "w", "e"}},
		{"info", []string{"i", "w", "e"}},
		{"WARN", []string{"w", "e"}},
		{"error", []string{"e"}},
	} {
		var buf bytes.Buffer
		log, err := logFlags{level: c.level, format: "json"}.logger(&buf)
		if err != nil {
			t.Fatal(err)
		}
		log.Debug("d")
		log.Info("i")
		log.Warn("w")
		log.Error("e", "err", errors.New("boom"))
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("level %s: not one JSON object a line: %q", c.level, line)
			}
			got = append(got, rec["msg"].(string))
			if rec["msg"] == "e" && rec["err"] != "boom" {
				t.Fatalf("error record %v: want err=boom", rec)
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("--log-level %s wrote %v, want %v", c.level, got, c.want)
		}
	}
	var buf bytes.Buffer
	log, err := logFlags{level: "info", format: "text"}.logger(&buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello", "err", errors.New("boom"))
	if s := buf.String(); !strings.Contains(s, "msg=hello") || !strings.Contains(s, "err=boom") {
		t.Fatalf("text record %q", s)
	}
}

// A bad value is refused before anything starts, naming the flag and the
// values it takes.
func TestLogFlagsBadValue(t *testing.T) {
	isolate(t)
	runCLI(t, "", "serve", "--log-level", "loud", "--listen", "127.0.0.1:0").fails(t, `--log-level "loud": use debug, info, warn or error`)
	runCLI(t, "", "serve", "--log-format", "xml", "--listen", "127.0.0.1:0").fails(t, `--log-format "xml": use text or json`)
	runCLI(t, "", "queue-worker", "--nats-url", "nats://127.0.0.1:1", "--log-format", "xml").fails(t, `--log-format "xml"`)
	runCLI(t, "", "serve", "--help").must(t)
	if out := runCLI(t, "", "serve", "--help").stdout; !strings.Contains(out, "--log-level") || !strings.Contains(out, "--log-format") {
		t.Fatalf("serve --help lists no log flags:\n%s", out)
	}
}

// Knobs that were environment-only are flags too, listed by --help, and a
// bad value is refused naming the flag; the environment still sets their
// defaults.
func TestServeKnobsAreFlags(t *testing.T) {
	isolate(t)
	out := runCLI(t, "", "serve", "--help").stdout
	for _, flag := range []string{"--event-loop", "--event-loops", "--async-lean", "--queue-codec", "--queue-worker-direct", "--async-callback-lean", "--kube-image-pull-policy", "--kube-direct-readiness"} {
		if !strings.Contains(out, flag) {
			t.Errorf("serve --help does not list %s", flag)
		}
	}
	runCLI(t, "", "serve", "--event-loops", "-1", "--listen", "127.0.0.1:0").fails(t, `--event-loops: must be >= 0, got -1`)
	runCLI(t, "", "serve", "--queue-codec", "xml", "--listen", "127.0.0.1:0").fails(t, `--queue-codec "xml": use binary or json`)
	t.Setenv("FERRY_QUEUE_CODEC", "yaml")
	runCLI(t, "", "serve", "--listen", "127.0.0.1:0").fails(t, `--queue-codec "yaml"`)
}
