package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// TestHelmChart installs the whole platform with the real helm (this file
// runs after the out-of-cluster tests: it replaces their namespaces and
// RBAC with the chart's), then checks what an operator would:
// `kubectl get deploy,svc,po -n openfaas` shows everything ready; a
// function deployed through the gateway's Service (a ClusterIP, through
// kube-proxy) is listed with -l faas_function and invoked through the
// Service, synchronously and through NATS and the queue worker;
// Prometheus scrapes the gateway and knows Alertmanager, and an alert
// fired at Alertmanager scales the function through /system/alert; the
// cron, NATS and Kafka triggers' Deployments run their functions (Kafka:
// a kfake broker in the test process; zy_helm_triggers_test.go). Then `helm
// upgrade` with changed values, and `helm uninstall` leaves nothing of
// Ferry's in the cluster.
func TestHelmChart(t *testing.T) {
	kubeTest(t)
	if _, err := os.Stat(HelmBin()); err != nil {
		t.Skipf("helm not built: run test/kube/build.sh (%v)", err)
	}
	tags := importPlatformImages(t)
	// The out-of-cluster gateway's namespaces and RBAC are kubectl-made:
	// the chart owns them from here on (TestTeardown stops it again: a
	// no-op).
	ferry.Stop()
	dir := filepath.Join(harness.Root(), "deploy", "kubernetes")
	for _, f := range []string{"rbac.yaml", "namespaces.yaml"} {
		cluster.Kubectl("delete", "-f", filepath.Join(dir, f), "--ignore-not-found", "--wait=true", "--timeout=120s")
	}
	pvDir := natsVolume(t)
	kafka := startKafka(t)
	defer kafka.Close()
	set := []string{"--set", "gateway.image=" + tags["ferry"], "--set", "nats.image=" + tags["nats"],
		"--set", "prometheus.image=" + tags["prometheus"], "--set", "alertmanager.image=" + tags["alertmanager"],
		// Never pull: every image is on the node, and a pull would reach
		// for a registry off this machine.
		"--set", "imagePullPolicy=Never", "--set", "nats.persistence.storageClass=ferry-local",
		// Two replicas each (the default) of the cron, NATS and Kafka triggers.
		"--set", "triggers.cron.enabled=true", "--set", "triggers.nats.enabled=true",
		"--set", "triggers.kafka.enabled=true", "--set", "triggers.kafka.brokers={" + strings.Join(kafka.ListenAddrs(), ",") + "}"}
	chart := filepath.Join(harness.Root(), "charts", "ferry")
	t0 := time.Now()
	if out, err := helmRun(append([]string{"install", "ferry", chart, "--namespace", "default", "--wait", "--timeout", "3m"}, set...)...); err != nil {
		t.Fatalf("helm install: %v\n%s\n%s", err, out, kubectlOr("get", "deploy,svc,po,pvc", "-A", "-o", "wide"))
	}
	t.Logf("helm install --wait: %s", time.Since(t0).Round(time.Millisecond))
	out := kubectlOr("get", "deploy,svc,po", "-n", "openfaas")
	t.Logf("kubectl get deploy,svc,po -n openfaas\n%s", out)
	waitDeployReady(t, "openfaas", "ferry-gateway", 2)
	for _, d := range []string{"nats", "queue-worker", "prometheus", "alertmanager"} {
		waitDeployReady(t, "openfaas", d, 1)
	}
	for _, d := range []string{"ferry-trigger-cron", "ferry-trigger-nats", "ferry-trigger-kafka"} {
		waitDeployReady(t, "openfaas", d, 2)
	}
	// Pods start in any order: the gateways and the queue worker wait for
	// NATS rather than crash and restart.
	noNewRestarts(t, nil)
	gw := gatewayViaService(t)
	deployAndInvoke(t, gw)
	checkPrometheusWired(t)
	checkAlertScales(t)
	t.Run("Triggers", func(t *testing.T) { testTriggers(t, gw, kafka) })
	// Faults and figures on the installed platform (zy_faults_test.go).
	t.Run("GatewayPodDeleted", func(t *testing.T) { testGatewayPodDeleted(t, gw) })
	t.Run("NATSAndWorkerDeleted", func(t *testing.T) { testNATSAndWorkerDeleted(t, gw) })
	t.Run("LeaderDies", func(t *testing.T) { testLeaderPodDies(t, gw) })
	t.Run("Bench", func(t *testing.T) {
		f := benchInCluster(t, gw)
		if out := os.Getenv("FERRY_KUBE_HELM_BENCH_OUT"); out != "" {
			os.WriteFile(out, []byte(f+"\n"), 0o644)
		}
	})

	// Upgrade with changed values: a third gateway, a second queue worker;
	// the generated admin password is kept.
	if out, err := helmRun(append([]string{"upgrade", "ferry", chart, "--namespace", "default", "--wait", "--timeout", "3m",
		"--set", "gateway.replicas=3", "--set", "queueWorker.replicas=2"}, set...)...); err != nil {
		t.Fatalf("helm upgrade: %v\n%s", err, out)
	}
	waitDeployReady(t, "openfaas", "ferry-gateway", 3)
	waitDeployReady(t, "openfaas", "queue-worker", 2)
	if code, b, err := gw.Do("GET", "/system/functions?namespace=openfaas-fn", nil); code != 200 || !strings.Contains(string(b), `"hfn"`) {
		t.Fatalf("after upgrade, with the same password: %d %s %v", code, b, err)
	}
	if code, body, err := invokeRetry(gw, "hfn", "after-upgrade"); code != 200 || !strings.HasSuffix(body, "after-upgrade") {
		t.Fatalf("invoke after upgrade: %d %q %v", code, body, err)
	}

	if out, err := helmRun("uninstall", "ferry", "--namespace", "default", "--wait", "--timeout", "3m"); err != nil {
		t.Fatalf("helm uninstall: %v\n%s", err, out)
	}
	cluster.Kubectl("delete", "pv", "ferry-nats", "--ignore-not-found")
	os.RemoveAll(pvDir)
	waitNothingLeft(t)
}

func helmRun(args ...string) (string, error) {
	cmd := exec.Command(HelmBin(), append(args, "--kubeconfig", cluster.Kubeconfig)...)
	// helm keeps its cache and config under HOME: keep them out of root's.
	home := filepath.Join(cluster.Dir, "helm-home")
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func kubectlOr(args ...string) string {
	out, err := cluster.Kubectl(args...)
	if err != nil {
		return err.Error()
	}
	return out
}

// importPlatformImages builds the four platform images as a user would
// (scripts/platform-images.sh) and imports them on the node.
func importPlatformImages(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	t0 := time.Now()
	cmd := exec.Command(filepath.Join(harness.Root(), "scripts", "platform-images.sh"), dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("platform-images.sh: %v\n%s", err, out)
	}
	tags := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			tags[f[0]] = f[1]
			if err := cluster.ImportImage(filepath.Join(dir, f[0]+"-image.tar")); err != nil {
				t.Fatalf("import %s: %v", f[0], err)
			}
		}
	}
	if len(tags) != 4 {
		t.Fatalf("platform-images.sh printed %q", out)
	}
	t.Logf("platform images built and imported in %s: %v", time.Since(t0).Round(time.Millisecond), tags)
	return tags
}

// natsVolume makes the PersistentVolume NATS's claim binds to: this
// cluster has no storage provisioner, so a hostPath PV of class
// ferry-local, owned by the image's user, stands in for one.
func natsVolume(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(cluster.Dir, "pv-nats")
	os.MkdirAll(dir, 0o700)
	os.Chown(dir, 65534, 65534)
	pv := fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata: {name: ferry-nats}
spec:
  storageClassName: ferry-local
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: %q, type: Directory}
`, dir)
	f := filepath.Join(t.TempDir(), "pv.yaml")
	os.WriteFile(f, []byte(pv), 0o644)
	if out, err := cluster.Kubectl("apply", "-f", f); err != nil {
		t.Fatal(out)
	}
	return dir
}

func waitDeployReady(t *testing.T, ns, name string, n int) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		out, _ := cluster.Kubectl("get", "deploy", name, "-n", ns, "-o", "jsonpath={.status.readyReplicas}/{.status.updatedReplicas}/{.status.replicas}")
		want := fmt.Sprintf("%d/%d/%d", n, n, n)
		if out == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s/%s: %s ready/updated/total, want %s\n%s", ns, name, out, want, kubectlOr("get", "po", "-n", ns, "-o", "wide"))
		}
	}
}

// gatewayViaService is a client of the gateway through its ClusterIP (no
// port on the host), with the admin password from the chart's Secret.
func gatewayViaService(t *testing.T) *harness.Ferry {
	t.Helper()
	ip, err := cluster.Kubectl("get", "svc", "gateway", "-n", "openfaas", "-o", "jsonpath={.spec.clusterIP}")
	if err != nil || !strings.HasPrefix(ip, "198.19.") {
		t.Fatalf("gateway ClusterIP %q: %v", ip, err)
	}
	enc, err := cluster.Kubectl("get", "secret", "ferry-admin", "-n", "openfaas", "-o", "jsonpath={.data.password}")
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := base64.StdEncoding.DecodeString(enc)
	// Ready pods are not yet a Service that answers: the EndpointSlice and
	// then kube-proxy's rules follow (until then the ClusterIP refuses).
	url := "http://" + ip + ":8080"
	c := &http.Client{Timeout: 2 * time.Second}
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := c.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(end) {
			t.Fatalf("the gateway Service %s does not answer: %v %v", url, resp, err)
		}
	}
	return &harness.Ferry{URL: url, User: "admin", Password: string(pw)}
}

func deployAndInvoke(t *testing.T, gw *harness.Ferry) {
	t.Helper()
	code, b, err := gw.Do("POST", "/system/functions", map[string]any{"service": "hfn", "namespace": "openfaas-fn", "image": images["v1"],
		"labels": map[string]string{"com.openfaas.scale.max": "2"}})
	if err != nil || code != 202 {
		t.Fatalf("deploy through the gateway Service: %d %s %v", code, b, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := gw.WaitReady(ctx, "hfn", "openfaas-fn", 1); err != nil {
		t.Fatalf("%v\n%s", err, kubectlOr("get", "po", "-A", "-o", "wide"))
	}
	out := kubectlOr("get", "deploy,svc,po", "-n", "openfaas-fn", "-l", "faas_function")
	t.Logf("kubectl get deploy,svc,po -n openfaas-fn -l faas_function\n%s", out)
	for _, w := range []string{"deployment.apps/hfn", "service/hfn", "pod/hfn-"} {
		if !strings.Contains(out, w) {
			t.Fatalf("%s not listed with -l faas_function", w)
		}
	}
	if code, body, err := invokeRetry(gw, "hfn", "through-the-service"); code != 200 || !strings.HasPrefix(body, "v1 ") || !strings.HasSuffix(body, "through-the-service") {
		t.Fatalf("invoke through the Service: %d %q %v", code, body, err)
	}
	// Async: the gateway queues on NATS (nats.openfaas.svc, through the
	// cluster DNS) and the queue worker calls back through the Service.
	resp, err := http.Post(gw.URL+"/async-function/hfn", "text/plain", strings.NewReader("queued"))
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("async call: %v %v", resp, err)
	}
	resp.Body.Close()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		code, b, _ := gw.Do("GET", "/system/function/hfn?namespace=openfaas-fn", nil)
		var st struct{ InvocationCount float64 }
		json.Unmarshal(b, &st)
		if code == 200 && st.InvocationCount >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queued call never ran (count %v): %d %s\nqueue-worker: %s", st.InvocationCount, code, b,
				kubectlOr("logs", "-n", "openfaas", "deploy/queue-worker", "--tail=20"))
		}
	}
}

// invokeRetry calls a function through the gateway, retrying briefly while
// a new gateway pod's endpoints settle.
func invokeRetry(gw *harness.Ferry, name, body string) (code int, out string, err error) {
	for i := 0; i < 20; i++ {
		if code, out, err = gw.Invoke(name, body); err == nil && code == 200 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	return
}

// checkPrometheusWired asks Prometheus (through its ClusterIP) whether it
// scrapes every gateway pod and has found Alertmanager.
func checkPrometheusWired(t *testing.T) {
	t.Helper()
	ip, _ := cluster.Kubectl("get", "svc", "prometheus", "-n", "openfaas", "-o", "jsonpath={.spec.clusterIP}")
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		targets := promGet("http://" + ip + ":9090/api/v1/targets?state=active")
		ams := promGet("http://" + ip + ":9090/api/v1/alertmanagers")
		last = targets + "\n" + ams
		if strings.Contains(targets, `"job":"gateway"`) && strings.Contains(targets, `"health":"up"`) && strings.Contains(ams, ":9093/api/v2/alerts") {
			return
		}
	}
	t.Fatalf("Prometheus does not scrape the gateway or has no Alertmanager:\n%s", last)
}

// checkAlertScales fires APIHighInvocationRate for hfn at Alertmanager
// (through its ClusterIP), which must post it to the gateway's
// /system/alert with the admin password from the mounted Secret: the
// function goes to its max of 2 replicas.
func checkAlertScales(t *testing.T) {
	t.Helper()
	ip, _ := cluster.Kubectl("get", "svc", "alertmanager", "-n", "openfaas", "-o", "jsonpath={.spec.clusterIP}")
	alert := `[{"labels": {"alertname": "APIHighInvocationRate", "function_name": "hfn.openfaas-fn", "service": "gateway", "severity": "major"}}]`
	resp, err := http.Post("http://"+ip+":9093/api/v2/alerts", "application/json", strings.NewReader(alert))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("post alert to Alertmanager: %v %v", resp, err)
	}
	resp.Body.Close()
	waitDeployReady(t, "openfaas-fn", "hfn", 2)
}

func promGet(url string) string {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitNothingLeft checks that uninstall removed everything of Ferry's:
// both namespaces (and so every function in them), the cluster-wide RBAC,
// anything labelled part-of=ferry, and the release itself. (Functions that
// earlier tests left in namespaces of their own are not the chart's.)
func waitNothingLeft(t *testing.T) {
	t.Helper()
	var left string
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		left = ""
		for _, q := range [][]string{
			{"get", "ns", "openfaas", "openfaas-fn", "--ignore-not-found", "-o", "name"},
			{"get", "clusterrole,clusterrolebinding", "-l", "app.kubernetes.io/part-of=ferry", "-o", "name"},
			{"get", "all,cm,secret,pvc,sa,role,rolebinding", "-A", "-l", "app.kubernetes.io/part-of=ferry", "-o", "name"},
			{"get", "secret", "-n", "default", "-l", "owner=helm,name=ferry", "-o", "name"},
		} {
			out, err := cluster.Kubectl(q...)
			if err != nil {
				out = err.Error()
			}
			left += strings.TrimSpace(out)
		}
		if left == "" {
			return
		}
	}
	t.Fatalf("left in the cluster after helm uninstall:\n%s", left)
}
