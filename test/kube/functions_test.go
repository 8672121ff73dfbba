package kube

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const fnNS = "openfaas-fn"

func deployFn(t *testing.T, name, ns, image string, extra map[string]any) {
	t.Helper()
	d := map[string]any{"service": name, "namespace": ns, "image": image,
		"labels": map[string]string{"team": "e2e"}, "envVars": map[string]string{"GREETING": "hi"}}
	for k, v := range extra {
		d[k] = v
	}
	code, b, err := ferry.Do("POST", "/system/functions", d)
	if err != nil || code != 202 {
		t.Fatalf("deploy %s: %d %s %v", name, code, b, err)
	}
}

func waitReady(t *testing.T, name, ns string, n uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := ferry.WaitReady(ctx, name, ns, n); err != nil {
		out, _ := cluster.Kubectl("get", "pods", "-A", "-o", "wide")
		t.Fatalf("%v\n%s", err, out)
	}
}

func call(name, path, body string) (int, string, error) {
	resp, err := http.Post(ferry.URL+"/function/"+name+path, "text/plain", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// steadyLoad calls fn from 4 workers until stop is closed (bounded to 2000
// calls per worker and 3 minutes), counting failures and answer prefixes.
func steadyLoad(fn string, stop <-chan struct{}) (ok, failed *atomic.Int64, seen *sync.Map, done *sync.WaitGroup) {
	ok, failed, seen, done = new(atomic.Int64), new(atomic.Int64), new(sync.Map), new(sync.WaitGroup)
	deadline := time.Now().Add(3 * time.Minute)
	for w := 0; w < 4; w++ {
		done.Add(1)
		go func() {
			defer done.Done()
			for n := 0; n < 2000 && time.Now().Before(deadline); n++ {
				select {
				case <-stop:
					return
				default:
				}
				code, body, err := call(fn, "", "x")
				if err != nil || code != 200 {
					failed.Add(1)
					fmt.Printf("load: %d %q %v\n", code, body, err)
				} else {
					ok.Add(1)
					f := strings.Fields(body)
					if len(f) >= 2 {
						seen.Store(f[0]+" "+f[1], true)
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	return
}

type kobj struct {
	Items []struct {
		Kind     string
		Metadata struct {
			Name   string
			Labels map[string]string
		}
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Env            []struct{ Name, Value string }
						ReadinessProbe *struct{ HTTPGet struct{ Path string } }
						LivenessProbe  *struct{ HTTPGet struct{ Path string } }
					}
				}
			}
		}
		Status struct{ Phase string }
	}
}

func kget(t *testing.T, ns, what, selector string) kobj {
	t.Helper()
	out, err := cluster.Kubectl("get", what, "-n", ns, "-l", selector, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var o kobj
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestFunctionLifecycle: deploy through the API, see the objects with
// kubectl, invoke, scale to 3 with traffic on all, delete a pod and update
// the image under load with no failed request, logs, delete.
func TestFunctionLifecycle(t *testing.T) {
	kubeTest(t)
	deployFn(t, "kfn", fnNS, images["v1"], nil)
	waitReady(t, "kfn", fnNS, 1)

	o := kget(t, fnNS, "deployment,service,pods", "faas_function=kfn")
	kinds := map[string]int{}
	for _, it := range o.Items {
		kinds[it.Kind]++
		if it.Metadata.Labels["faas_function"] != "kfn" {
			t.Errorf("%s %s lacks faas_function label: %v", it.Kind, it.Metadata.Name, it.Metadata.Labels)
		}
		if it.Kind == "Deployment" {
			c := it.Spec.Template.Spec.Containers[0]
			if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/_/ready" || c.LivenessProbe == nil {
				t.Errorf("probes: %+v %+v", c.ReadinessProbe, c.LivenessProbe)
			}
			env := map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			if env["GREETING"] != "hi" {
				t.Errorf("env: %v", env)
			}
			if it.Metadata.Labels["team"] != "e2e" {
				t.Errorf("function labels not on the deployment: %v", it.Metadata.Labels)
			}
		}
	}
	if kinds["Deployment"] != 1 || kinds["Service"] != 1 || kinds["Pod"] != 1 {
		t.Fatalf("kubectl get deploy,svc,pods -l faas_function=kfn: %v", kinds)
	}
	if code, body, err := call("kfn", "", "ping"); err != nil || code != 200 || !strings.HasPrefix(body, "v1 kfn-") || !strings.HasSuffix(body, "ping") {
		t.Fatalf("invoke: %d %q %v", code, body, err)
	}

	code, b, _ := ferry.Do("POST", "/system/scale-function/kfn", map[string]any{"serviceName": "kfn", "replicas": 3})
	if code != 202 {
		t.Fatalf("scale: %d %s", code, b)
	}
	waitReady(t, "kfn", fnNS, 3)
	running := 0
	for _, it := range kget(t, fnNS, "pods", "faas_function=kfn").Items {
		if it.Status.Phase == "Running" {
			running++
		}
	}
	if running != 3 {
		t.Fatalf("%d pods Running, want 3", running)
	}
	pods := map[string]bool{}
	for i := 0; i < 60 && len(pods) < 3; i++ {
		_, body, _ := call("kfn", "", "")
		if f := strings.Fields(body); len(f) >= 2 {
			pods[f[1]] = true
		}
	}
	if len(pods) != 3 {
		t.Fatalf("traffic reached %d pods, want 3: %v", len(pods), pods)
	}

	t.Run("delete a pod under load", func(t *testing.T) {
		stop := make(chan struct{})
		ok, failed, _, done := steadyLoad("kfn", stop)
		time.Sleep(time.Second)
		var victim string
		for p := range pods {
			victim = p
			break
		}
		if _, err := cluster.Kubectl("delete", "pod", "-n", fnNS, victim, "--wait=false"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		close(stop)
		done.Wait()
		t.Logf("pod %s deleted under load: %d ok, %d failed", victim, ok.Load(), failed.Load())
		if failed.Load() != 0 {
			t.Fatalf("%d calls failed while a pod was deleted", failed.Load())
		}
		waitReady(t, "kfn", fnNS, 3)
	})

	t.Run("update image under load", func(t *testing.T) {
		stop := make(chan struct{})
		ok, failed, seen, done := steadyLoad("kfn", stop)
		time.Sleep(500 * time.Millisecond)
		code, b, _ := ferry.Do("PUT", "/system/functions", map[string]any{"service": "kfn", "namespace": fnNS,
			"image": images["v2"], "labels": map[string]string{"team": "e2e"}, "envVars": map[string]string{"GREETING": "hi"}})
		if code != 202 {
			t.Fatalf("update: %d %s", code, b)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			out, _ := cluster.Kubectl("rollout", "status", "deployment/kfn", "-n", fnNS, "--timeout=5s")
			if strings.Contains(out, "successfully rolled out") {
				break
			}
		}
		time.Sleep(2 * time.Second)
		close(stop)
		done.Wait()
		v2 := false
		seen.Range(func(k, _ any) bool {
			if strings.HasPrefix(k.(string), "v2 ") {
				v2 = true
			}
			return true
		})
		t.Logf("rolling update under load: %d ok, %d failed, v2 seen: %v", ok.Load(), failed.Load(), v2)
		if failed.Load() != 0 || !v2 {
			t.Fatalf("rolling update: %d failed calls, v2 answered: %v", failed.Load(), v2)
		}
	})

	t.Run("logs", func(t *testing.T) {
		code, b, _ := ferry.Do("GET", "/system/logs?name=kfn&namespace="+fnNS+"&tail=20", nil)
		if code != 200 || !strings.Contains(string(b), "kfn handled") {
			t.Fatalf("logs: %d %s", code, b)
		}
		// Follow: a line written after the stream opened arrives on it.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", ferry.URL+"/system/logs?name=kfn&namespace="+fnNS+"&follow=true&tail=0", nil)
		req.SetBasicAuth(ferry.User, ferry.Password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("follow logs: %v %v", resp, err)
		}
		defer resp.Body.Close()
		go func() {
			// The per-pod streams open asynchronously: call until one line is seen.
			for i := 0; i < 40 && ctx.Err() == nil; i++ {
				call("kfn", "/followed", "")
				time.Sleep(500 * time.Millisecond)
			}
		}()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "kfn handled /followed") {
				return
			}
		}
		t.Fatalf("followed logs never showed the call: %v", sc.Err())
	})

	t.Run("delete", func(t *testing.T) {
		code, b, _ := ferry.Do("DELETE", "/system/functions", map[string]string{"functionName": "kfn", "namespace": fnNS})
		if code != 202 {
			t.Fatalf("delete: %d %s", code, b)
		}
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			if len(kget(t, fnNS, "deployment,service,pods", "faas_function=kfn").Items) == 0 {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Fatalf("objects left after delete: %+v", kget(t, fnNS, "deployment,service,pods", "faas_function=kfn").Items)
	})
}
