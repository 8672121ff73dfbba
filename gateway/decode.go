package gateway

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/ferryfaas/ferry/api"
)

// readBody reads an API request body, limited to MaxBodyBytes (413 over).
func (g *Gateway) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	max := g.cfg.MaxBodyBytes
	if r.ContentLength > max {
		return nil, tooLarge(max, "--max-body")
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, tooLarge(max, "--max-body")
		}
		return nil, api.BadRequest("could not read the request body: %w", err)
	}
	return b, nil
}

// tooLarge is the 413 of a body over a limit, naming ferry serve's flag
// for it.
func tooLarge(max int64, flag string) error {
	return api.Errorf(http.StatusRequestEntityTooLarge, "request body is larger than the limit of %d bytes (%s)", max, flag)
}

// decodeJSON reads and decodes an API body into v. what names the expected
// type for the messages ("a FunctionDeployment"). Unknown fields are
// accepted: faas-cli sends some Ferry does not use.
func (g *Gateway) decodeJSON(w http.ResponseWriter, r *http.Request, v any, what string) error {
	b, err := g.readBody(w, r)
	if err != nil {
		return err
	}
	return decodeBytes(b, v, what)
}

// decodeBytes turns JSON errors into 400s that name the field at fault or
// the byte offset of a syntax error.
func decodeBytes(b []byte, v any, what string) error {
	if len(b) == 0 {
		return api.BadRequest("request body is empty: send %s as JSON", what)
	}
	err := json.Unmarshal(b, v)
	if err == nil {
		switch path, key := duplicateKey(b); {
		case key == "":
			return nil
		case path == "":
			return api.BadRequest("field %q is given twice: give each field once", short(key))
		default:
			return api.BadRequest("field %q: key %q is given twice: give each key once", short(path), short(key))
		}
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return api.BadRequest("field %q: want %s, got JSON %s", te.Field, te.Type.String(), te.Value)
	case errors.As(err, &te):
		return api.BadRequest("request body must be %s (a JSON object), got JSON %s", what, te.Value)
	case errors.As(err, &se):
		return api.BadRequest("malformed JSON at byte %d: %w", se.Offset, se)
	}
	if f := failingField(b, v); f != "" {
		return api.BadRequest("field %q: %w", f, err)
	}
	return api.BadRequest("invalid %s: %w", what, err)
}

// failingField finds which top-level field a custom decoder (such as
// api.Resources or base64 for []byte) rejected, by decoding the fields one
// at a time. It only runs on the error path.
func failingField(b []byte, v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return ""
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return ""
	}
	st := rv.Elem().Type()
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		m, ok := raw[name]
		if !ok {
			continue
		}
		if json.Unmarshal(m, reflect.New(f.Type).Interface()) != nil {
			return name
		}
	}
	return ""
}

// namespace picks the namespace of a request: the ?namespace= query or the
// body's (they must agree when both are given), else the default; it is
// validated.
func (g *Gateway) namespace(r *http.Request, body string) (string, error) {
	qs := r.URL.Query()["namespace"]
	q := ""
	if len(qs) > 0 {
		q = qs[0]
	}
	ns := body
	switch {
	case len(qs) > 1:
		// as with a JSON key given twice, which one counts would depend on
		// who reads the query
		return "", api.BadRequest("namespace is given %d times in the query: give it once", len(qs))
	case q != "" && body != "" && q != body:
		return "", api.BadRequest("namespace %q in the query and %q in the body disagree: give one", short(q), short(body))
	case ns == "":
		ns = q
	}
	if ns == "" {
		ns = g.cfg.DefaultNamespace
	}
	if err := api.ValidateName("namespace", ns); err != nil {
		return "", err
	}
	return ns, nil
}

// pathFunction reads a function name from a path value, accepting
// "name.namespace" too; the namespace part must agree with the query.
func (g *Gateway) pathFunction(r *http.Request, key string) (name, ns string, err error) {
	name, pns, err := splitPathName(r.PathValue(key))
	if err != nil {
		return "", "", err
	}
	ns, err = g.namespace(r, pns)
	return name, ns, err
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h["Content-Type"] = applicationJSON
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	w.Write(b)
	return nil
}

var applicationJSON = []string{"application/json"}

// accepted answers a write that the provider took on (202, empty body).
func accepted(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// short trims user input quoted back in messages.
func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
