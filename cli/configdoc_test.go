package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var updateDocs = flag.Bool("update", false, "rewrite the generated flag tables of docs/configuration.md")

const configDoc = "../docs/configuration.md"

// docCommands are the commands whose flags docs/configuration.md lists in
// full: the ones that configure a server rather than make one request.
var docCommands = []string{"serve", "queue-worker"}

// TestConfigurationDoc keeps docs/configuration.md in step with the code:
// each command's flag table between its markers is generated from the
// command's flags (go test ./cli -run TestConfigurationDoc -update rewrites
// them), and every FERRY_* variable the non-test code reads is documented.
func TestConfigurationDoc(t *testing.T) {
	raw, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	root := NewRoot()
	for _, name := range docCommands {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			t.Fatalf("command %s: %v", name, err)
		}
		begin, end := "<!-- flags:"+name+" -->\n", "<!-- end flags:"+name+" -->"
		i, j := strings.Index(doc, begin), strings.Index(doc, end)
		if i < 0 || j < i {
			t.Fatalf("%s has no %q ... %q block for `ferry %s`", configDoc, strings.TrimSpace(begin), end, name)
		}
		want := flagTable(cmd)
		if got := doc[i+len(begin) : j]; got != want {
			if *updateDocs {
				doc = doc[:i+len(begin)] + want + doc[j:]
				continue
			}
			t.Errorf("the flags of `ferry %s` changed: run `go test ./cli -run TestConfigurationDoc -update` and review docs/configuration.md\n--- doc\n%s--- code\n%s", name, got, want)
		}
	}
	if *updateDocs {
		if err := os.WriteFile(configDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range envVarsRead(t) {
		if !strings.Contains(doc, "`"+v+"`") {
			t.Errorf("%s is read by the code but not documented in %s", v, configDoc)
		}
	}
}

// flagTable is the markdown table of a command's own flags, sorted by name.
func flagTable(cmd *cobra.Command) string {
	var b strings.Builder
	b.WriteString("| flag | default | what it does |\n|---|---|---|\n")
	var flags []*pflag.Flag
	cmd.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && !f.Hidden {
			flags = append(flags, f)
		}
	})
	slices.SortFunc(flags, func(a, b *pflag.Flag) int { return strings.Compare(a.Name, b.Name) })
	home, _ := os.UserHomeDir()
	for _, f := range flags {
		def := f.DefValue
		if home != "" {
			def = strings.ReplaceAll(def, home, "~")
		}
		switch {
		case def == "" || def == "[]" || def == "0" && f.Value.Type() != "int":
			def = ""
		default:
			def = "`" + def + "`"
		}
		usage := strings.ReplaceAll(f.Usage, "|", "\\|")
		fmt.Fprintf(&b, "| `--%s` | %s | %s |\n", f.Name, def, usage)
	}
	return b.String()
}

var envRef = regexp.MustCompile(`"(FERRY_[A-Z0-9_]+)"`)

// envVarsRead lists the FERRY_* names in the module's non-test Go files that
// are read from or passed through the environment (stream names excluded).
func envVarsRead(t *testing.T) []string {
	seen := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "test" || d.Name() == "bench" || strings.HasPrefix(d.Name(), ".")) && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range envRef.FindAllStringSubmatch(string(src), -1) {
			if !strings.HasPrefix(m[1], "FERRY_ASYNC") && !strings.HasPrefix(m[1], "FERRY_CALLBACK") {
				seen[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
