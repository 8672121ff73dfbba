package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDuplicateKey(t *testing.T) {
	for _, c := range []struct{ in, path, key string }{
		{`{"a":1,"b":2}`, "", ""},
		{`{"a":1,"a":2}`, "", "a"},
		{`{"Service":1,"service":2}`, "", "service"},
		{`{"envVars":{"A":"1","a":"2"}}`, "", ""}, // maps are case-sensitive
		{`{"envVars":{"A":"1","A":"2"}}`, "envVars", "A"},
		{`{"x":{"y":{"z":1,"z":2}}}`, "x.y", "z"},
		{`{"x":[{"a":1},{"a":2}],"y":[]}`, "", ""},
		{`{"x":[{"a":1,"a":2}]}`, "x", "a"},
		{` { "s" : "a\"b}\\" , "t" : [ 1 , -2.5e3 , true , null ] , "s" : 0 } `, "", "s"},
		{`{"\u0061":1,"a":2}`, "", "a"},
		{`[1,{"k":{},"k":{}}]`, "", "k"},
		{`"just a string"`, "", ""},
		{many(20, `"k5":0`), "", "k5"},
		{many(20, `"K19":0`), "", "K19"},
		{`{"e":` + many(20, `"k7":0`) + `}`, "e", "k7"},
		{`{"e":` + many(20, `"K7":0`) + `}`, "", ""},
		{many(20, ""), "", ""},
	} {
		path, key := duplicateKey([]byte(c.in))
		if path != c.path || key != c.key {
			t.Errorf("%s: got %q %q, want %q %q", c.in, path, key, c.path, c.key)
		}
	}
}

// many is an object of n keys k0..k(n-1), then extra if given.
func many(n int, extra string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	if extra == "" {
		return strings.TrimSuffix(b.String(), ",") + "}"
	}
	return b.String() + extra + "}"
}

var deployBody = []byte(`{"service":"fn1","image":"ghcr.io/acme/fn1:1","envProcess":"cat",` +
	`"envVars":{"A":"1","B":"2","write_timeout":"10s"},"labels":{"com.openfaas.scale.min":"1","team":"a"},` +
	`"annotations":{"topic":"x"},"limits":{"memory":"128Mi","cpu":"500m"},"secrets":["api-key"]}`)

// BenchmarkParseDeployment and BenchmarkDuplicateKey show the share of a
// deploy's decoding that the duplicate-key scan takes.
func BenchmarkParseDeployment(b *testing.B) {
	g := fuzzGateway(b)
	r := httptest.NewRequest("POST", "/system/functions", nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := g.parseDeployment(r, deployBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDuplicateKey(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, k := duplicateKey(deployBody); k != "" {
			b.Fatal(k)
		}
	}
}

// FuzzDuplicateKey checks the scan on any valid JSON against a plain
// decoder: it must not panic, and a key it reports must really repeat.
func FuzzDuplicateKey(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `[{"x":{"y":[1,"\"",{}]}}]`, `{"A":1,"a":2}`, `"\\"`, `{"\u00e9":1,"é":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		_, key := duplicateKey(b)
		if key != "" && strings.Count(strings.ToLower(string(b)), strings.ToLower(key)) < 2 && !bytes.Contains(b, []byte(`\`)) {
			t.Fatalf("%s: reported %q, which appears once", b, key)
		}
	})
}
