package ui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/client/clienttest"
	"github.com/ferryfaas/ferry/gateway"
	"github.com/ferryfaas/ferry/metrics"
	"github.com/ferryfaas/ferry/provider/providertest"
	"github.com/ferryfaas/ferry/queue"
)

// The portal's own browser tests run it on the real gateway over the
// in-memory provider (client/clienttest), mounted as `ferry serve` mounts
// it: the UI handler behind the gateway's auth, ui.Public in front, the
// metrics recorder's /system/stats, and the queue on an embedded NATS for
// async calls. The end-to-end test in test/e2e runs the same scenario
// against the real `ferry serve`.
const fakeUser, fakePass = clienttest.User, clienttest.Password

type portalOptions struct {
	noStats bool // no /system/stats: the portal says so
}

func newPortal(t *testing.T, o portalOptions) *clienttest.Gateway {
	t.Helper()
	opts := Options{Version: "test"}
	var svc *queue.Service
	gw := clienttest.StartWith(t, clienttest.Options{
		Replica: replica,
		Configure: func(c *gateway.Config) {
			c.UI = Handler(opts)
			if !o.noStats {
				rec := metrics.NewRecorder()
				c.Observer = rec
				c.System["GET /system/stats"] = metrics.StatsHandler(rec, func(string) float64 { return 0 })
				// A sample a second, as ferry serve's recorder takes.
				p := c.Provider.(*providertest.Provider)
				ctx, stop := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() {
					defer close(done)
					rec.Run(ctx, func(ctx context.Context) ([]api.FunctionStatus, error) { return p.List(ctx, api.DefaultNamespace) }, nil)
				}()
				t.Cleanup(func() { stop(); <-done })
			}
			svc = queue.NewService(queue.ServiceConfig{
				Connect: func() (*queue.JetStream, func(), error) {
					emb, err := queue.StartEmbedded(queue.EmbeddedOptions{StoreDir: t.TempDir()})
					if err != nil {
						return nil, nil, err
					}
					nc, err := emb.Connect("ui-test")
					if err != nil {
						emb.Shutdown()
						return nil, nil, err
					}
					js, err := queue.NewJetStream(nc)
					return js, func() { nc.Close(); emb.Shutdown() }, err
				},
				Enqueuer: queue.EnqueuerConfig{Functions: c.Provider.(*providertest.Provider), DefaultNamespace: api.DefaultNamespace},
			})
			c.Async = svc.Async()
		},
		Wrap: func(h http.Handler) http.Handler { return Public(h, opts) },
	})
	if err := svc.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Stop(context.Background()) })
	// Another namespace for the switcher, and secrets to list.
	ctx := context.Background()
	if err := gw.Provider.CreateNamespace(ctx, api.Namespace{Name: "staging"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"db-password", "api-key"} {
		if err := gw.Provider.CreateSecret(ctx, api.Secret{Name: s, Namespace: api.DefaultNamespace, Value: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	return gw
}

// deploy puts a function in place through the provider, as if deployed.
func deploy(t *testing.T, gw *clienttest.Gateway, name string) {
	t.Helper()
	if err := gw.Provider.Deploy(context.Background(), api.FunctionDeployment{Service: name, Image: "fake", Namespace: api.DefaultNamespace}); err != nil {
		t.Fatal(err)
	}
}

// replica is each deployed function: it echoes the body as text and logs
// it; /json answers JSON, /bin and /pdf 256 bytes; a function deployed
// from an uploaded artifact stands for the scenario's handler.sh.
func replica(p *providertest.Provider, d api.FunctionDeployment) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.Log(d.Namespace, d.Service, fmt.Sprintf("%s", body))
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Duration-Seconds", "0.001")
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"a":1,"b":[1,2]}`))
			return
		case "/bin", "/pdf":
			w.Header().Set("Content-Type", "application/octet-stream")
			if r.URL.Path == "/pdf" {
				w.Header().Set("Content-Type", "application/pdf") // a type the browser would render
			}
			for i := 0; i < 256; i++ {
				w.Write([]byte{byte(i)})
			}
			return
		}
		if d.Annotations["com.ferryfaas.artifact"] != "" {
			body = append([]byte("script: "), body...)
		}
		w.Write(body)
	})
}
