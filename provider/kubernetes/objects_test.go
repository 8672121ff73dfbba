package kubernetes

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestObjectsGolden translates each testdata/*.input.json deployment into
// Deployment + Service and compares with testdata/*.golden.json.
func TestObjectsGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*.input.json")
	if len(inputs) < 4 {
		t.Fatalf("expected golden inputs, found %d", len(inputs))
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input.json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var d api.FunctionDeployment
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatal(err)
			}
			if err := d.Validate(api.DefaultNamespace); err != nil {
				t.Fatal(err)
			}
			dep, svc, err := Objects(d, 2)
			var got []byte
			if err != nil {
				got = []byte("error: " + err.Error() + "\n")
			} else {
				got, _ = json.MarshalIndent(map[string]any{"deployment": dep, "service": svc}, "", "  ")
				got = append(got, '\n')
			}
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				os.WriteFile(golden, got, 0o644)
			}
			want, _ := os.ReadFile(golden)
			if string(got) != string(want) {
				t.Errorf("%s differs from golden (go test -update to accept):\n%s", name, got)
			}
		})
	}
}

// TestSafeDefaults checks the pod hardening that every function gets.
func TestSafeDefaults(t *testing.T) {
	dep, _, err := Objects(api.FunctionDeployment{Service: "f", Namespace: "ns", Image: "img"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ps := dep.Spec.Template.Spec
	c := ps.Containers[0]
	sc := c.SecurityContext
	switch {
	case *ps.AutomountServiceAccountToken:
		t.Error("service account token mounted")
	case !*sc.RunAsNonRoot, *sc.AllowPrivilegeEscalation:
		t.Error("may run as root or escalate")
	case len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL":
		t.Error("capabilities not dropped")
	case sc.SeccompProfile.Type != "RuntimeDefault":
		t.Error("no seccomp profile")
	case c.Resources.Limits.Memory().IsZero(), c.Resources.Requests.Cpu().IsZero():
		t.Error("no default requests/limits")
	case dep.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0:
		t.Error("rolling update may make replicas unavailable")
	case c.ReadinessProbe.HTTPGet.Path != "/_/ready" || c.LivenessProbe.HTTPGet.Path != "/_/health":
		t.Error("probes")
	}
}
