package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
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
	for _, flag := range []string{"--event-loop", "--event-loops", "--async-lean", "--queue-codec", "--queue-worker-direct", "--async-callback-lean", "--kube-image-pull-policy", "--kube-direct-readiness", "--pprof-listen", "--admin-password-file"} {
		if !strings.Contains(out, flag) {
			t.Errorf("serve --help does not list %s", flag)
		}
	}
	// Every FERRY_* variable the cli package reads is, but for the CLI's
	// own, the default of a serve flag whose help names it.
	client := map[string]bool{"FERRY_CONFIG_DIR": true, "FERRY_URL": true, "FERRY_USER": true, "FERRY_PASSWORD": true}
	cmd, _, err := NewRoot().Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	var helps strings.Builder
	cmd.Flags().VisitAll(func(f *pflag.Flag) { helps.WriteString(f.Usage + "\n") })
	files, _ := filepath.Glob("*.go")
	read := regexp.MustCompile(`(?:Getenv|LookupEnv|envOr|envInt)\("(FERRY_[A-Z0-9_]+)"`)
	seen := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range read.FindAllStringSubmatch(string(src), -1) {
			seen++
			if !client[m[1]] && !regexp.MustCompile(`env `+m[1]+`\b`).MatchString(helps.String()) {
				t.Errorf("%s reads %s, which no serve flag's help names (env %s)", file, m[1], m[1])
			}
		}
	}
	if seen < 20 {
		t.Fatalf("found %d environment reads: is the pattern still right?", seen)
	}
	runCLI(t, "", "serve", "--event-loops", "-1", "--listen", "127.0.0.1:0").fails(t, `--event-loops: must be >= 0, got -1`)
	runCLI(t, "", "serve", "--queue-codec", "xml", "--listen", "127.0.0.1:0").fails(t, `--queue-codec "xml": use binary or json`)
	t.Setenv("FERRY_QUEUE_CODEC", "yaml")
	runCLI(t, "", "serve", "--listen", "127.0.0.1:0").fails(t, `--queue-codec "yaml"`)
}
