package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode"

	"github.com/ferryfaas/ferry/api"
)

// logs is GET /system/logs?name=&namespace=&instance=&tail=&follow=&since=:
// NDJSON, one api.LogMessage per line, each line flushed when following.
func (g *Gateway) logs(w http.ResponseWriter, r *http.Request) error {
	req, err := parseLogQuery(r.URL.Query(), g.cfg.DefaultNamespace)
	if err != nil {
		return err
	}
	if _, ok := g.cfg.Provider.Route(req.Namespace, req.Name); !ok {
		return notFound(req.Name, req.Namespace)
	}
	ch, err := g.cfg.Provider.Logs(r.Context(), req)
	if err != nil {
		return err
	}
	h := w.Header()
	h["Content-Type"] = ndjson
	h["X-Content-Type-Options"] = noSniff
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	if req.Follow && f != nil {
		f.Flush() // the client sees 200 before the first line arrives
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-g.draining:
			return nil
		case m, ok := <-ch:
			if !ok {
				return nil
			}
			if err := enc.Encode(m); err != nil {
				return nil // client gone; the provider stops on ctx
			}
			if req.Follow && f != nil {
				f.Flush()
			}
		}
	}
}

var ndjson = []string{"application/x-ndjson"}

// maxInstanceLength bounds ?instance= (pod names are at most 253).
const maxInstanceLength = 253

// parseLogQuery reads the logs query. Names follow the usual rules (400);
// a missing name or a bad tail, since, follow or instance is 422, the
// contract's status for a bad query.
func parseLogQuery(q url.Values, defNS string) (api.LogRequest, error) {
	req := api.LogRequest{Tail: -1}
	if q.Get("name") == "" {
		return req, unprocessable("function name is required: give ?name=NAME")
	}
	name, ns, err := splitPathName(q.Get("name"))
	if err != nil {
		return req, err
	}
	if qns := q.Get("namespace"); qns != "" {
		if ns != "" && ns != qns {
			return req, api.BadRequest("namespace %q in the name and %q in the query disagree: give one", ns, short(qns))
		}
		ns = qns
	}
	if ns == "" {
		ns = defNS
	}
	if err := api.ValidateName("namespace", ns); err != nil {
		return req, err
	}
	req.Name, req.Namespace = name, ns
	if s := q.Get("tail"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < -1 {
			return req, unprocessable("tail=%q is not a line count: use a number >= 0 (or -1 for all)", short(s))
		}
		req.Tail = n
	}
	if s := q.Get("follow"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return req, unprocessable("follow=%q is not a boolean: use true or false", short(s))
		}
		req.Follow = b
	}
	if s := q.Get("since"); s != "" {
		t, err := parseSince(s)
		if err != nil {
			return req, unprocessable("since=%q is not a time: use RFC 3339 (2006-01-02T15:04:05Z) or a duration such as 5m", short(s))
		}
		req.Since = &t
	}
	if s := q.Get("instance"); s != "" {
		if len(s) > maxInstanceLength || !printable(s) {
			return req, unprocessable("instance=%q is not an instance name", short(s))
		}
		req.Instance = s
	}
	return req, nil
}

// parseSince accepts RFC 3339 (what faas-cli sends) or a duration ago.
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, api.BadRequest("bad since")
	}
	return time.Now().Add(-d), nil
}

func printable(s string) bool {
	for _, c := range s {
		if c == unicode.ReplacementChar || !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

func unprocessable(format string, args ...any) error {
	return api.Errorf(http.StatusUnprocessableEntity, format, args...)
}

func notFound(name, ns string) error {
	return api.Errorf(http.StatusNotFound, "function %s not found in namespace %s", name, ns)
}
