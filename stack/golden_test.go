package stack

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
)

var update = flag.Bool("update", false, "rewrite testdata/*/golden.{json,err}")

// caseOptions is testdata/<case>/case.json: the environment the stack file
// is expanded with and the filter applied.
type caseOptions struct {
	Env    map[string]string `json:"env"`
	Filter string            `json:"filter"`
	Regex  string            `json:"regex"`
}

// TestGolden loads every testdata/<case>/stack.yml and compares the
// FunctionDeployment list it produces with golden.json, or the error with
// golden.err. Run `go test ./stack -update` to rewrite the goldens.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/stack.yml")
	if err != nil || len(dirs) < 15 {
		t.Fatalf("want at least 15 golden cases, found %d (%v)", len(dirs), err)
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var opt caseOptions
			if b, err := os.ReadFile(filepath.Join(dir, "case.json")); err == nil {
				if err := json.Unmarshal(b, &opt); err != nil {
					t.Fatalf("case.json: %v", err)
				}
			}
			env := func(k string) (string, bool) { v, ok := opt.Env[k]; return v, ok }
			got, isErr := run(f, env, opt)
			got = strings.ReplaceAll(got, dir+string(filepath.Separator), "")
			want := filepath.Join(dir, "golden.json")
			other := filepath.Join(dir, "golden.err")
			if isErr {
				want, other = other, want
			}
			if *update {
				os.Remove(other)
				if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("got %s:\n%s\nbut %s is missing (run with -update)", map[bool]string{true: "an error", false: "deployments"}[isErr], got, want)
			}
			if string(b) != got {
				t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", want, b, got)
			}
		})
	}
}

func run(file string, env func(string) (string, bool), opt caseOptions) (string, bool) {
	st, err := Load(file, env)
	if err != nil {
		return err.Error() + "\n", true
	}
	fns, err := Filter(st.Functions, opt.Filter, opt.Regex)
	if err != nil {
		return err.Error() + "\n", true
	}
	out := make([]api.FunctionDeployment, 0, len(fns))
	for _, fn := range fns {
		out = append(out, Deployment(fn, ""))
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	return string(b) + "\n", false
}
