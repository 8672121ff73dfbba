package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
	"github.com/nats-io/nats.go"
)

// TestWasmTriggerPortalUsage: a wasm function answers the NATS subject of
// its topic annotation (embedded NATS), the portal's API lists it as it
// lists any function, and its page shows the memory of a call in flight
// and the time its calls took.
func TestWasmTriggerPortalUsage(t *testing.T) {
	natsAddr, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	f := harness.T(t, harness.Options{Args: []string{"--nats-listen", natsAddr,
		"--trigger-nats-subjects", "--trigger-poll", "200ms", "--autoscale=false"}})
	dg := artifact(t, f, map[string]string{"main.wasm": string(buildWasm(t, "./testdata/wasmalloc"))})
	deploy(t, f, map[string]any{"service": "wsub", "image": "wsub",
		"annotations": map[string]string{"com.ferryfaas.artifact": dg, "topic": "wasm.jobs"},
		"labels":      map[string]string{"com.ferryfaas.runtime": "wasm"}})
	waitReplica(t, f, "wsub")

	t.Run("NATS subject trigger", func(t *testing.T) {
		if got := natsAsk(t, natsAddr, embeddedNATSPassword(t, f), "wasm.jobs", "job-1"); got != "job-1" {
			t.Fatalf("request on wasm.jobs: %q", got)
		}
		if n := invocations(t, f, "wsub"); n != 1 {
			t.Fatalf("wsub invoked %v times", n)
		}
	})

	t.Run("portal API lists it", func(t *testing.T) {
		var fns []struct {
			Name     string            `json:"name"`
			Image    string            `json:"image"`
			Labels   map[string]string `json:"labels"`
			Replicas int               `json:"availableReplicas"`
		}
		portalGet(t, f, "/system/functions?namespace=openfaas-fn", &fns)
		for _, fn := range fns {
			if fn.Name == "wsub" && fn.Image == "wsub" && fn.Labels["com.ferryfaas.runtime"] == "wasm" && fn.Replicas == 1 {
				return
			}
		}
		t.Fatalf("wsub not in the portal's list: %+v", fns)
	})

	t.Run("usage of a call in flight", func(t *testing.T) {
		done := make(chan string)
		go func() {
			code, _, body := invoke(t, f, "POST", "wsub?hold", "", nil)
			done <- fmt.Sprint(code, " ", body)
		}()
		var mem float64
		eventually(t, 10*time.Second, "the page shows the memory of the call in flight", func() string {
			if mem = fnUsage(t, f, "wsub").TotalMemoryBytes; mem < 64<<20 {
				return fmt.Sprintf("totalMemoryBytes %v", mem)
			}
			return ""
		})
		if got := <-done; got != "200 allocated 67108864" {
			t.Fatalf("hold: %s", got)
		}
		u := fnUsage(t, f, "wsub")
		t.Logf("in flight: %.0f MiB; after: %+v", mem/(1<<20), u)
		if u.CPU <= 0 || u.CPU > 1.5 || u.TotalMemoryBytes != 0 {
			t.Fatalf("after a call of 2 s: %+v, want at most one core (the guest time of one call) and no memory", u)
		}
	})
}

// natsAsk sends a request on a subject of the NATS at addr (user ferry),
// retrying for 20 s while no trigger has subscribed yet, and returns the
// reply.
func natsAsk(t *testing.T, addr, pass, subject, body string) string {
	t.Helper()
	nc, err := nats.Connect("nats://"+addr, nats.UserInfo("ferry", pass))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var reply *nats.Msg
	for deadline := time.Now().Add(20 * time.Second); ; {
		if reply, err = nc.Request(subject, []byte(body), time.Second); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("request on %s: %v", subject, err)
	}
	return string(reply.Data)
}

type usageView struct {
	CPU              float64 `json:"cpu"`
	TotalMemoryBytes float64 `json:"totalMemoryBytes"`
}

// fnUsage is the usage the function's portal page shows.
func fnUsage(t *testing.T, f *harness.Ferry, name string) usageView {
	var st struct{ Usage *usageView }
	portalGet(t, f, "/system/function/"+name+"?namespace=openfaas-fn", &st)
	if st.Usage == nil {
		return usageView{}
	}
	return *st.Usage
}

// portalGet makes a GET as the portal's pages do (basic auth and the
// X-Ferry-UI header) and decodes its JSON answer.
func portalGet(t *testing.T, f *harness.Ferry, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.URL+path, nil)
	req.SetBasicAuth(f.User, f.Password)
	req.Header.Set("X-Ferry-UI", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(b, v) != nil {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
}
