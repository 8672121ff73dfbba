package process

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// collect reads a log stream until it closes or want lines containing
// marker arrived (follow streams do not close by themselves).
func collect(t *testing.T, ch <-chan api.LogMessage, marker string, want int) []api.LogMessage {
	t.Helper()
	var out []api.LogMessage
	seen := 0
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, m)
			if marker != "" && strings.Contains(m.Text, marker) {
				if seen++; seen == want {
					return out
				}
			}
		case <-deadline.C:
			t.Fatalf("log stream: %d of %d %q lines after 15s; got %+v", seen, want, marker, out)
		}
	}
}

func texts(ms []api.LogMessage) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Instance+": "+m.Text)
	}
	return strings.Join(s, "\n")
}

func TestLogsTailSinceInstanceFollow(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.deploy(api.FunctionDeployment{Service: "lg", EnvProcess: `sh -c 'read x; echo "fnlog-$x" >&2; echo ok'`,
		Labels: map[string]string{"com.openfaas.scale.min": "2"}})
	r := e.waitReady("lg", 2)

	// Follow from now on (tail 0), then produce three lines.
	follow, err := e.p.Logs(ctx, api.LogRequest{Name: "lg", Namespace: ns, Tail: 0, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"a", "b", "c"} {
		invoke(t, r.Endpoints[[]int{0, 1, 0}[i]], body+"\n")
	}
	got := collect(t, follow, "fnlog-", 3)
	for _, m := range got {
		if m.Name != "lg" || m.Namespace != ns || m.Timestamp.IsZero() || !strings.HasPrefix(m.Instance, "lg-") {
			t.Fatalf("log message fields: %+v", m)
		}
	}

	read := func(req api.LogRequest) []api.LogMessage {
		req.Name, req.Namespace = "lg", ns
		ch, err := e.p.Logs(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return collect(t, ch, "", 0)
	}
	all := read(api.LogRequest{Tail: -1})
	var bAt time.Time
	for _, m := range all {
		if strings.Contains(m.Text, "fnlog-b") {
			bAt = m.Timestamp
		}
	}
	if bAt.IsZero() {
		t.Fatalf("no fnlog-b line in:\n%s", texts(all))
	}
	if tail := read(api.LogRequest{Tail: 2}); len(tail) != 2 || texts(tail) != texts(all[len(all)-2:]) {
		t.Fatalf("tail 2:\n%s\nall:\n%s", texts(tail), texts(all))
	}
	inst := read(api.LogRequest{Tail: -1, Instance: "lg-1"})
	if !strings.Contains(texts(inst), "fnlog-b") || strings.Contains(texts(inst), "fnlog-a") {
		t.Fatalf("instance lg-1:\n%s", texts(inst))
	}
	for _, m := range inst {
		if m.Instance != "lg-1" {
			t.Fatalf("instance filter let %q through", m.Instance)
		}
	}
	pid := e.p.pids(ns, "lg")["lg-1"]
	if byPid := read(api.LogRequest{Tail: -1, Instance: strconv.Itoa(pid)}); !strings.Contains(texts(byPid), "fnlog-b") {
		t.Fatalf("instance by pid %d:\n%s", pid, texts(byPid))
	}
	since := read(api.LogRequest{Tail: -1, Since: &bAt})
	if s := texts(since); !strings.Contains(s, "fnlog-b") || !strings.Contains(s, "fnlog-c") || strings.Contains(s, "fnlog-a") {
		t.Fatalf("since b:\n%s", s)
	}

	// A follower ends when its context does.
	fctx, fcancel := context.WithCancel(ctx)
	ch, _ := e.p.Logs(fctx, api.LogRequest{Name: "lg", Namespace: ns, Tail: 0, Follow: true})
	fcancel()
	collect(t, ch, "", 0)

	if _, err := e.p.Logs(ctx, api.LogRequest{Name: "nope", Namespace: ns}); !api.IsNotFound(err) {
		t.Fatalf("logs of a missing function: %v", err)
	}

	// Logs survive a restart.
	e.reopen()
	if after := read(api.LogRequest{Tail: -1}); !strings.Contains(texts(after), "fnlog-a") {
		t.Fatalf("after restart:\n%s", texts(after))
	}
}
