package kube

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCountsSurviveRestarts: on this provider Ferry keeps no local state,
// so invocation counts live in the cluster (a ConfigMap) and survive the
// gateway's restart (as when its pod is deleted) and the deletion of the
// function's pod.
func TestCountsSurviveRestarts(t *testing.T) {
	kubeTest(t)
	deployFn(t, "cnt", fnNS, images["v1"], nil)
	waitReady(t, "cnt", fnNS, 1)
	const n = 25
	for i := 0; i < n; i++ {
		if code, body, err := call("cnt", "", "x"); code != 200 {
			t.Fatalf("call %d: %d %q %v", i, code, body, err)
		}
	}
	count := func() float64 {
		code, b, err := ferry.Do("GET", "/system/function/cnt", nil)
		if code != 200 {
			t.Fatalf("get: %d %s %v", code, b, err)
		}
		var st struct{ InvocationCount float64 }
		json.Unmarshal(b, &st)
		return st.InvocationCount
	}
	if c := count(); c != n {
		t.Fatalf("invocationCount %v before restart, want %d", c, n)
	}
	if out, err := cluster.Kubectl("delete", "pod", "-n", fnNS, "-l", "faas_function=cnt", "--wait=false"); err != nil {
		t.Fatal(out)
	}
	if err := ferry.Restart(false); err != nil {
		t.Fatal(err)
	}
	if c := count(); c != n {
		t.Fatalf("invocationCount %v after the gateway restarted and the pod was deleted, want %d", c, n)
	}
	out, err := cluster.Kubectl("get", "configmap", "-n", fnNS, "ferry-invocation-counts", "-o", "jsonpath={.data.cnt\\."+fnNS+"}")
	if err != nil || strings.TrimSpace(out) != "25" {
		t.Fatalf("count in the cluster: %q %v", out, err)
	}
	if code, b, _ := ferry.Do("DELETE", "/system/functions", map[string]string{"functionName": "cnt", "namespace": fnNS}); code != 202 {
		t.Fatalf("delete: %d %s", code, b)
	}
}
