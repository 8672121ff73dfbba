package kube

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServiceThroughClusterIP: a function's Service gets a *.svc name from
// CoreDNS (asked through the kube-dns ClusterIP) and its ClusterIP answers
// from the host through kube-proxy's rules, as in any cluster.
func TestServiceThroughClusterIP(t *testing.T) {
	kubeTest(t)
	deployFn(t, "svcfn", fnNS, images["v1"], nil)
	defer ferry.Do("DELETE", "/system/functions", map[string]string{"functionName": "svcfn", "namespace": fnNS})
	waitReady(t, "svcfn", fnNS, 1)
	ctx := context.Background()
	ips, err := cluster.Resolve(ctx, DNSIP(), "svcfn."+fnNS+".svc.cluster.local")
	if err != nil || len(ips) != 1 || !strings.HasPrefix(ips[0], "198.19.") {
		t.Fatalf("svcfn.%s.svc: %v %v (want one ClusterIP in %s)", fnNS, ips, err, serviceCIDR)
	}
	want, _ := cluster.Kubectl("get", "svc", "svcfn", "-n", fnNS, "-o", "jsonpath={.spec.clusterIP}")
	if ips[0] != want {
		t.Fatalf("DNS says %s, the Service's ClusterIP is %s", ips[0], want)
	}
	// kube-proxy programs the rules a moment after the endpoints appear.
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := client.Post("http://"+ips[0]+":8080/", "text/plain", strings.NewReader("via-clusterip"))
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.HasPrefix(string(b), "v1 ") && strings.HasSuffix(string(b), "via-clusterip") {
			return
		}
		last = resp.Status + " " + string(b)
	}
	t.Fatalf("ClusterIP %s:8080 never answered: %s", ips[0], last)
}
