package watchdog

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLogFormat: the watchdog's own records are slog records, key=value by
// default and one JSON object a line with log_format=json, while the
// function's output lines stay as the function wrote them (prefixed).
func TestLogFormat(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			inst := start(t, testConfig(t, "fprocess=sh -c 'echo from-the-function >&2; cat'", "log_format="+format))
			if code, _, body := call(t, "POST", inst.url+"/", "x"); code != 200 || body != "x" {
				t.Fatalf("call: %d %q", code, body)
			}
			if !eventuallyLogs(inst, "stderr: from-the-function\n") {
				t.Errorf("the function's line is not kept as written:\n%s", inst.logs)
			}
			if err := inst.stop(t); err != nil {
				t.Fatal(err)
			}
			var ready bool
			for _, line := range strings.Split(strings.TrimSpace(inst.logs.String()), "\n") {
				if strings.Contains(line, "stderr: from-the-function") {
					continue
				}
				if format == "text" {
					ready = ready || strings.Contains(line, `level=INFO msg="watchdog ready" mode=streaming`)
					continue
				}
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("a record that is not JSON: %q", line)
				}
				ready = ready || rec["msg"] == "watchdog ready" && rec["mode"] == "streaming" && rec["level"] == "INFO"
			}
			if !ready {
				t.Errorf("no ready record in %s:\n%s", format, inst.logs)
			}
		})
	}
}
