package ui

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// fakeAPI is a small in-memory stand-in for the gateway's REST API, for
// the portal's own browser tests (the end-to-end test in test/e2e runs the
// same scenario against the real `ferry serve`). `cat` functions echo the
// body and log one line per call.
type fakeAPI struct {
	mu      sync.Mutex
	fns     map[string]*api.FunctionStatus // "name.ns"
	logs    map[string][]api.LogMessage
	wake    chan struct{} // closed and replaced when a log line is added
	noStats bool
	// secrets: "name.ns" -> value; namespaces: the set.
	secrets    map[string]string
	namespaces map[string]bool
}

// add puts a ready function in place, as if deployed.
func (f *fakeAPI) add(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fns[name+"."+api.DefaultNamespace] = &api.FunctionStatus{Name: name, Namespace: api.DefaultNamespace, Image: "fake",
		Replicas: 1, AvailableReplicas: 1, CreatedAt: time.Now()}
}

const fakeUser, fakePass = "admin", "s3cret-pass"

func newFake(t *testing.T) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{fns: map[string]*api.FunctionStatus{}, logs: map[string][]api.LogMessage{}, wake: make(chan struct{}),
		secrets:    map[string]string{"db-password.openfaas-fn": "x", "api-key.openfaas-fn": "y"},
		namespaces: map[string]bool{"openfaas-fn": true, "staging": true}}
	mux := http.NewServeMux()
	authed := func(h http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != fakeUser || p != fakePass {
				w.Header().Set("WWW-Authenticate", `Basic realm="ferry"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
			h(w, r)
		})
	}
	mux.Handle("/ui/", authed(Handler(Options{Version: "test"}).ServeHTTP))
	mux.Handle("GET /system/namespaces", authed(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, slices.Sorted(maps.Keys(f.namespaces)))
	}))
	mux.Handle("POST /system/namespace/{ns}", authed(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.namespaces[r.PathValue("ns")] = true
		w.WriteHeader(http.StatusCreated)
	}))
	mux.Handle("DELETE /system/namespace/{ns}", authed(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.namespaces, r.PathValue("ns"))
		w.WriteHeader(http.StatusAccepted)
	}))
	mux.Handle("GET /system/secrets", authed(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		out := []api.Secret{}
		for k := range f.secrets {
			if n, sns, _ := strings.Cut(k, "."); sns == ns(r) {
				out = append(out, api.Secret{Name: n, Namespace: sns})
			}
		}
		writeJSON(w, out)
	}))
	mux.Handle("/system/secrets", authed(func(w http.ResponseWriter, r *http.Request) {
		var s api.Secret
		json.NewDecoder(r.Body).Decode(&s)
		if s.Namespace == "" {
			s.Namespace = api.DefaultNamespace
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		switch r.Method {
		case http.MethodPost, http.MethodPut:
			f.secrets[s.Name+"."+s.Namespace] = s.Value
			w.WriteHeader(http.StatusCreated)
		case http.MethodDelete:
			delete(f.secrets, s.Name+"."+s.Namespace)
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	mux.Handle("GET /system/functions", authed(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		out := []api.FunctionStatus{}
		for _, s := range f.fns {
			if s.Namespace == ns(r) {
				st := *s
				st.Status = api.StateOf(st) // as the real gateway does
				out = append(out, st)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		writeJSON(w, out)
	}))
	mux.Handle("GET /system/function/{name}", authed(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		s, ok := f.fns[r.PathValue("name")+"."+ns(r)]
		if !ok {
			http.Error(w, "function not found", 404)
			return
		}
		st := *s
		st.Status = api.StateOf(st)
		writeJSON(w, st)
	}))
	deploy := func(w http.ResponseWriter, r *http.Request) {
		var d api.FunctionDeployment
		if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if err := d.Validate(api.DefaultNamespace); err != nil {
			http.Error(w, err.Error(), api.StatusOf(err))
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		key := d.Service + "." + d.Namespace
		_, exists := f.fns[key]
		if r.Method == "POST" && exists {
			http.Error(w, api.Conflict("function", d.Service).Error(), 409)
			return
		}
		f.fns[key] = &api.FunctionStatus{Name: d.Service, Namespace: d.Namespace, Image: d.Image, EnvProcess: d.EnvProcess,
			EnvVars: d.EnvVars, Labels: d.Labels, Annotations: d.Annotations, Secrets: d.Secrets, Limits: d.Limits,
			Replicas: 1, AvailableReplicas: 1, ReadyReplicas: 1, CreatedAt: time.Now(),
			Conditions: []api.Condition{{Type: "Ready", Status: "True", Reason: "ReplicasReady", Message: "1 of 1 ready"}}}
		w.WriteHeader(202)
	}
	mux.Handle("POST /system/functions", authed(deploy))
	mux.Handle("PUT /system/functions", authed(deploy))
	mux.Handle("DELETE /system/functions", authed(func(w http.ResponseWriter, r *http.Request) {
		var d api.DeleteFunctionRequest
		json.NewDecoder(r.Body).Decode(&d)
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.fns, d.FunctionName+"."+d.Namespace)
		w.WriteHeader(202)
	}))
	mux.Handle("POST /system/scale-function/{name}", authed(func(w http.ResponseWriter, r *http.Request) {
		var d api.ScaleServiceRequest
		json.NewDecoder(r.Body).Decode(&d)
		f.mu.Lock()
		defer f.mu.Unlock()
		s, ok := f.fns[r.PathValue("name")+"."+d.Namespace]
		if !ok {
			http.Error(w, "function not found", 404)
			return
		}
		s.Replicas, s.AvailableReplicas = d.Replicas, d.Replicas
		w.WriteHeader(202)
	}))
	mux.Handle("GET /system/stats", authed(func(w http.ResponseWriter, r *http.Request) {
		if f.noStats {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		now := time.Now().Unix()
		if name := r.URL.Query().Get("name"); name != "" {
			pts := []map[string]any{}
			for i := int64(120); i >= 0; i-- {
				x := float64(i % 40)
				pts = append(pts, map[string]any{"t": now - i, "rps": 2 + x/4, "errors": float64(i%17) / 20,
					"p50": 0.002 + x/5000, "p99": 0.01 + x/1000, "inflight": i % 3, "replicas": 1})
			}
			writeJSON(w, map[string]any{"function": name + "." + ns(r), "points": pts})
			return
		}
		out := map[string]any{}
		for k, s := range f.fns {
			out[k] = map[string]any{"rps": 2.5, "errors": 0, "p50": 0.0021, "p99": 0.012, "inflight": 0, "invocations": s.InvocationCount}
		}
		writeJSON(w, map[string]any{"functions": out})
	}))
	mux.Handle("GET /system/logs", authed(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Query().Get("name") + "." + ns(r)
		w.Header().Set("Content-Type", "application/x-ndjson")
		sent := 0
		for {
			f.mu.Lock()
			lines, wake := f.logs[key][sent:], f.wake
			f.mu.Unlock()
			for _, l := range lines {
				json.NewEncoder(w).Encode(l)
				sent++
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-wake:
			}
		}
	}))
	mux.Handle("POST /system/artifacts", authed(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			http.Error(w, "the artifact must be a .tar.gz", 400)
			return
		}
		writeJSON(w, map[string]string{"digest": fmt.Sprintf("sha256:%x", sha256.Sum256(b))})
	}))
	mux.HandleFunc("/function/{fn...}", func(w http.ResponseWriter, r *http.Request) {
		fn, _, _ := strings.Cut(r.PathValue("fn"), "/")
		name, namespace := api.SplitFunctionName(fn, api.DefaultNamespace)
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		s, ok := f.fns[name+"."+namespace]
		if ok {
			s.InvocationCount++
			f.logs[name+"."+namespace] = append(f.logs[name+"."+namespace], api.LogMessage{Name: name, Namespace: namespace,
				Instance: "replica-1", Timestamp: time.Now(), Text: fmt.Sprintf("%s", body)})
			close(f.wake)
			f.wake = make(chan struct{})
		}
		f.mu.Unlock()
		if !ok {
			http.Error(w, "function not found", 404)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Duration-Seconds", "0.001")
		switch rest := strings.TrimPrefix(r.PathValue("fn"), fn); rest {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"a":1,"b":[1,2]}`))
			return
		case "/bin", "/pdf":
			w.Header().Set("Content-Type", "application/octet-stream")
			if rest == "/pdf" {
				w.Header().Set("Content-Type", "application/pdf") // a type the browser would render
			}
			for i := 0; i < 256; i++ {
				w.Write([]byte{byte(i)})
			}
			return
		}
		if s.Annotations["com.ferryfaas.artifact"] != "" {
			// Stands in for the uploaded handler.sh of the scenario.
			body = append([]byte("script: "), body...)
		}
		w.Write(body)
	})
	srv := httptest.NewServer(Public(mux, Options{Version: "test"}))
	t.Cleanup(srv.Close)
	return f, srv
}

func ns(r *http.Request) string {
	if n := r.URL.Query().Get("namespace"); n != "" {
		return n
	}
	return api.DefaultNamespace
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
