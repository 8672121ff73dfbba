package prometheus

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tool finds a binary from Debian's prometheus / prometheus-alertmanager,
// skipping the test without it; with FERRY_TOOLS_REQUIRED=1 (scripts/test.sh,
// where the tools are installed) a missing tool fails the test instead.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		const hint = "%s not found: run scripts/install-deps.sh (apt install prometheus prometheus-alertmanager)"
		if os.Getenv("FERRY_TOOLS_REQUIRED") == "1" {
			t.Fatalf("FERRY_TOOLS_REQUIRED=1: "+hint, name)
		}
		t.Skipf(hint, name)
	}
	return p
}

func check(t *testing.T, dir string, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

func TestShippedConfigsAreValid(t *testing.T) {
	promtool, amtool := tool(t, "promtool"), tool(t, "amtool")
	check(t, ".", promtool, "check", "config", "prometheus.yml")
	check(t, ".", promtool, "check", "rules", "alert.rules.yml")
	check(t, ".", amtool, "check-config", "alertmanager.yml")
}

func TestRenderedConfigsAreValid(t *testing.T) {
	promtool, amtool := tool(t, "promtool"), tool(t, "amtool")
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	p, a := Render(Options{Gateway: "127.0.0.1:31112", Alertmanager: "127.0.0.1:39093", PasswordFile: pw})
	for _, want := range []string{"127.0.0.1:31112", "127.0.0.1:39093"} {
		if !strings.Contains(p, want) {
			t.Errorf("prometheus.yml lacks %s", want)
		}
	}
	if !strings.Contains(a, "http://127.0.0.1:31112/system/alert") || !strings.Contains(a, pw) {
		t.Errorf("alertmanager.yml not rendered:\n%s", a)
	}
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(p), 0o600)
	os.WriteFile(filepath.Join(dir, "alert.rules.yml"), []byte(AlertRulesYML), 0o600)
	os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(a), 0o600)
	check(t, dir, promtool, "check", "config", "prometheus.yml")
	check(t, dir, amtool, "check-config", "alertmanager.yml")
}

// The rule is OpenFaaS's, exactly (contract section 5).
func TestRuleMatchesContract(t *testing.T) {
	for _, want := range []string{
		"alert: APIHighInvocationRate",
		`expr: sum(rate(gateway_function_invocation_total{code="200"}[10s])) by (function_name) > 5`,
		"for: 5s",
		"service: gateway",
		"severity: major",
	} {
		if !strings.Contains(AlertRulesYML, want) {
			t.Errorf("alert.rules.yml lacks %q", want)
		}
	}
	for _, want := range []string{"send_resolved: true", "group_wait: 5s", "/system/alert", "password_file:"} {
		if !strings.Contains(AlertmanagerYML, want) {
			t.Errorf("alertmanager.yml lacks %q", want)
		}
	}
}
