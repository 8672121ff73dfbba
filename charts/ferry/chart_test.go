// Package chart checks the Helm chart charts/ferry with the real helm
// (built by test/kube/build.sh from helm.sh/helm/v4): it renders, its
// values do what they say, and it agrees with the kustomize manifests of
// deploy/kubernetes, which stay as the chart-less install. The chart is
// installed, upgraded and uninstalled on a real cluster in test/kube.
package chart

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const helmVersion = "v4.3.2" // test/kube/build.sh's HELM

type object = map[string]any

func helm(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("FERRY_KUBE_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "ferry", "kube")
	}
	bin := filepath.Join(cache, "helm", helmVersion, "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("helm %s not built (test/kube/build.sh): %v", helmVersion, err)
	}
	return bin
}

// render runs helm template with the given --set values.
func render(t *testing.T, set ...string) (map[string]object, error) {
	args := []string{"template", "ferry", ".", "--namespace", "default"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := exec.Command(helm(t), args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("helm template: %v: %s", err, out)
	}
	return parse(t, out), nil
}

// parse reads a YAML stream into objects keyed "Kind/namespace/name".
func parse(t *testing.T, b []byte) map[string]object {
	t.Helper()
	objs := map[string]object{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var o object
		err := dec.Decode(&o)
		if err == io.EOF {
			return objs
		}
		if err != nil {
			t.Fatalf("yaml: %v", err)
		}
		if o == nil {
			continue
		}
		objs[key(o)] = o
	}
}

func key(o object) string {
	md, _ := o["metadata"].(object)
	return fmt.Sprintf("%s/%v/%v", o["kind"], md["namespace"], md["name"])
}

// get walks o along the path of map keys and list indexes.
func get(o any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := o.(object)
			o = m[k]
		case int:
			l, _ := o.([]any)
			if k >= len(l) {
				return nil
			}
			o = l[k]
		}
	}
	return o
}

// Every object of deploy/kubernetes exists in the chart's default render
// with the same RBAC rules, security settings, ports, probes and Service
// specs, and the gateway's arguments there are a subset of the chart's.
func TestChartMatchesKustomize(t *testing.T) {
	chart, err := render(t)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "deploy", "kubernetes")
	for _, f := range []string{"namespaces.yaml", "rbac.yaml", "nats.yaml", "gateway.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range parse(t, b) {
			got, ok := chart[k]
			if !ok {
				t.Errorf("%s (%s) is not in the chart", k, f)
				continue
			}
			var paths [][]any
			switch want["kind"] {
			case "ClusterRole", "Role":
				paths = [][]any{{"rules"}}
			case "ClusterRoleBinding", "RoleBinding":
				paths = [][]any{{"roleRef"}, {"subjects"}}
			case "Service", "PersistentVolumeClaim":
				paths = [][]any{{"spec"}}
			case "Namespace":
				paths = [][]any{{"metadata", "labels", "openfaas"}}
			case "Deployment":
				pod := []any{"spec", "template", "spec"}
				c := append(slices.Clone(pod), "containers", 0)
				paths = [][]any{{"spec", "selector"}, {"spec", "strategy"}, append(slices.Clone(pod), "securityContext"),
					append(slices.Clone(pod), "serviceAccountName"), append(slices.Clone(pod), "terminationGracePeriodSeconds"),
					append(slices.Clone(c), "securityContext"), append(slices.Clone(c), "lifecycle"),
					append(slices.Clone(c), "ports"), append(slices.Clone(c), "readinessProbe"),
					append(slices.Clone(c), "livenessProbe"), append(slices.Clone(c), "volumeMounts")}
				wantArgs, _ := get(want, append(slices.Clone(c), "args")...).([]any)
				gotArgs, _ := get(got, append(slices.Clone(c), "args")...).([]any)
				for _, a := range wantArgs {
					if !slices.Contains(gotArgs, a) {
						t.Errorf("%s: argument %v of %s missing from the chart's %v", k, a, f, gotArgs)
					}
				}
			}
			for _, p := range paths {
				if w, g := get(want, p...), get(got, p...); !reflect.DeepEqual(w, g) {
					t.Errorf("%s %v:\n kustomize %v\n chart     %v", k, p, w, g)
				}
			}
		}
	}
}

func TestChartLint(t *testing.T) {
	if out, err := exec.Command(helm(t), "lint", "--strict", ".").CombinedOutput(); err != nil {
		t.Fatalf("helm lint --strict: %v\n%s", err, out)
	}
}

// The chart carries OpenFaaS's alert rule as shipped in deploy/prometheus
// (helm cannot read files outside the chart: this keeps the copy exact).
func TestChartAlertRulesAreTheShippedOnes(t *testing.T) {
	a, err := os.ReadFile("files/alert.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../deploy/prometheus/alert.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("charts/ferry/files/alert.rules.yml differs from deploy/prometheus/alert.rules.yml: copy it")
	}
}

func TestChartValues(t *testing.T) {
	objs, err := render(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Namespace/<nil>/openfaas", "Namespace/<nil>/openfaas-fn", "Deployment/openfaas/ferry-gateway",
		"Deployment/openfaas/nats", "PersistentVolumeClaim/openfaas/nats-data", "Deployment/openfaas/queue-worker",
		"Deployment/openfaas/prometheus", "Deployment/openfaas/alertmanager", "Secret/openfaas/ferry-admin", "Service/openfaas/gateway"} {
		if objs[k] == nil {
			t.Errorf("default render lacks %s", k)
		}
	}
	// Every container is non-root with a read-only root filesystem.
	for k, o := range objs {
		for i := 0; get(o, "spec", "template", "spec", "containers", i) != nil; i++ {
			c := get(o, "spec", "template", "spec", "containers", i)
			if get(c, "securityContext", "readOnlyRootFilesystem") != true || get(o, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
				t.Errorf("%s container %d: not non-root with a read-only root", k, i)
			}
		}
	}
	if pw := get(objs["Secret/openfaas/ferry-admin"], "data", "password"); pw == nil || pw == "" {
		t.Error("no generated admin password")
	}

	objs, err = render(t, "gateway.replicas=3", "prometheus.enabled=false", "nats.enabled=false",
		"nats.external.url=nats://nats.example.svc:4222", "basicAuth.existingSecret=mine", "queueWorker.enabled=false",
		"gateway.resources.limits.memory=1Gi", "gateway.image=reg.example/ferry:1")
	if err != nil {
		t.Fatal(err)
	}
	gw := objs["Deployment/openfaas/ferry-gateway"]
	if get(gw, "spec", "replicas") != 3 {
		t.Errorf("gateway.replicas=3: %v", get(gw, "spec", "replicas"))
	}
	c := get(gw, "spec", "template", "spec", "containers", 0)
	args := fmt.Sprint(get(c, "args"))
	if !strings.Contains(args, "--nats-url=nats://nats.example.svc:4222") || strings.Contains(args, "--queue-worker=false") {
		t.Errorf("external NATS, no separate worker: args %s", args)
	}
	if get(c, "image") != "reg.example/ferry:1" || get(c, "resources", "limits", "memory") != "1Gi" {
		t.Errorf("image and resources values ignored: %v %v", get(c, "image"), get(c, "resources"))
	}
	if get(c, "env", 0, "valueFrom", "secretKeyRef", "name") != "mine" {
		t.Errorf("basicAuth.existingSecret ignored: %v", get(c, "env", 0))
	}
	for _, k := range []string{"Deployment/openfaas/nats", "Deployment/openfaas/prometheus", "Deployment/openfaas/alertmanager",
		"Secret/openfaas/ferry-admin", "Deployment/openfaas/queue-worker"} {
		if objs[k] != nil {
			t.Errorf("%s rendered although turned off", k)
		}
	}

	// No stop delay: no preStop hook, and the grace period is the drain's.
	objs, err = render(t, "gateway.stopDelaySeconds=0", "gateway.drainSeconds=10", "gateway.counterFlush=3s")
	if err != nil {
		t.Fatal(err)
	}
	pod := get(objs["Deployment/openfaas/ferry-gateway"], "spec", "template", "spec")
	if get(pod, "containers", 0, "lifecycle") != nil || get(pod, "terminationGracePeriodSeconds") != 15 ||
		!strings.Contains(fmt.Sprint(get(pod, "containers", 0, "args")), "--drain=10s") ||
		!strings.Contains(fmt.Sprint(get(pod, "containers", 0, "args")), "--counter-flush=3s") {
		t.Errorf("stopDelaySeconds=0, drainSeconds=10, counterFlush=3s: lifecycle %v, grace %v, args %v", get(pod, "containers", 0, "lifecycle"),
			get(pod, "terminationGracePeriodSeconds"), get(pod, "containers", 0, "args"))
	}

	if _, err := render(t, "nats.enabled=false"); err == nil || !strings.Contains(err.Error(), "nats.external.url") {
		t.Errorf("external NATS without a URL: want an error naming nats.external.url, got %v", err)
	}
}

// The Prometheus and Alertmanager configs (the triggers' scrape job too) the chart renders pass Debian's
// promtool and amtool, the same builds the images carry.
func TestChartMonitoringConfigsValid(t *testing.T) {
	objs, err := render(t, "triggers.nats.enabled=true") // with the triggers' scrape job
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ tool, cm, file string }{
		{"promtool", "prometheus", "prometheus.yml"}, {"amtool", "alertmanager", "alertmanager.yml"},
	} {
		bin, err := exec.LookPath(c.tool)
		if err != nil {
			t.Skipf("%s not installed (scripts/install-deps.sh)", c.tool)
		}
		dir := t.TempDir()
		data, _ := get(objs["ConfigMap/openfaas/"+c.cm], "data").(object)
		for name, v := range data {
			os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprint(v)), 0o644)
		}
		args := []string{"check", "config", filepath.Join(dir, c.file)}
		if c.tool == "amtool" {
			args = []string{"check-config", filepath.Join(dir, c.file)}
		}
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Errorf("%s %v: %v\n%s", c.tool, args, err, out)
		}
	}
}
