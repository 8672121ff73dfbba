package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ferryfaas/ferry/templates"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

func init() { register(newNewCmd) }

// functionName is what `ferry new` accepts: an RFC 1123 label, as
// faas-cli and Kubernetes require.
var functionName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func newNewCmd() *cobra.Command {
	var (
		lang, prefix, appendTo, handler, gateway, templatesDir string
		list, quiet                                            bool
	)
	cmd := &cobra.Command{
		Use:   "new NAME --lang LANG",
		Short: "Create a function from a template, with its stack.yml",
		Long: `Create the folder NAME with the default handler of template LANG and a
stack.yml that builds it (or add the function to an existing stack file with
--append), as faas-cli new does. The templates are built into ferry: no
network is needed. --list shows them.`,
		Example: `  ferry new --list
  ferry new hello --lang python3-http
  ferry new api --lang golang-http --prefix registry.example.com/team --append stack.yml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if list {
				return cobra.NoArgs(cmd, args)
			}
			if len(args) != 1 {
				return fmt.Errorf("give one function name, e.g. `ferry new hello --lang python3-http` (see --help)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if list {
				return listLanguages(out, templatesDir)
			}
			name := args[0]
			if !functionName.MatchString(name) || len(name) > 63 {
				return fmt.Errorf("bad function name %q: use lower-case letters, digits and '-', starting and ending with a letter or digit", name)
			}
			if lang == "" {
				return fmt.Errorf("no --lang given: use one of %s (ferry new --list)", strings.Join(templates.Languages(), ", "))
			}
			tpl, err := templates.Lookup(templatesDir, lang)
			if err != nil {
				return err
			}
			if handler == "" {
				handler = name
			}
			stackFile := "stack.yml"
			if appendTo != "" {
				stackFile = appendTo
				if _, err := os.Stat(stackFile); err != nil {
					return fmt.Errorf("--append %s: no such stack file: leave out --append to create stack.yml", stackFile)
				}
			} else if _, err := os.Stat(stackFile); err == nil {
				return fmt.Errorf("%s already exists: add the function to it with --append %s", stackFile, stackFile)
			}
			if _, err := os.Stat(handler); err == nil {
				return fmt.Errorf("folder %s already exists: pick another name or remove it", handler)
			}
			image := name + ":latest"
			if prefix != "" {
				image = strings.TrimRight(prefix, "/") + "/" + image
			}
			if gateway == "" {
				gateway = newFirstSet(os.Getenv("FERRY_URL"), os.Getenv("OPENFAAS_URL"), DefaultGateway)
			}
			// Write the stack entry first: it is the step that can fail on
			// the user's input (a duplicate name, broken YAML).
			entry := stackEntry{Lang: lang, Handler: "./" + filepath.ToSlash(filepath.Clean(handler)), Image: image}
			if appendTo != "" {
				err = appendFunction(stackFile, name, entry)
			} else {
				err = writeStack(stackFile, gateway, name, entry)
			}
			if err != nil {
				return err
			}
			if err := templates.Scaffold(tpl, handler); err != nil {
				return fmt.Errorf("creating %s: %v", handler, err)
			}
			if !quiet && strings.TrimSpace(tpl.WelcomeMessage) != "" {
				fmt.Fprintln(out, strings.TrimSpace(tpl.WelcomeMessage))
				fmt.Fprintln(out)
			}
			fmt.Fprintf(out, "Function created in folder: %s\n", handler)
			fmt.Fprintf(out, "Stack file written: %s\n", stackFile)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&lang, "lang", "", "template to use (ferry new --list)")
	fs.BoolVar(&list, "list", false, "list the available templates")
	fs.StringVarP(&prefix, "prefix", "p", "", "registry/user prefix for the image name, e.g. registry.example.com/team")
	fs.StringVarP(&appendTo, "append", "a", "", "add the function to this existing stack file")
	fs.StringVar(&handler, "handler", "", "folder for the handler (default: NAME)")
	fs.StringVarP(&gateway, "gateway", "g", "", "gateway written into a new stack.yml (default: $FERRY_URL, $OPENFAAS_URL, "+DefaultGateway+")")
	fs.StringVar(&templatesDir, "templates-dir", "", "folder of template/<lang>/ folders tried before the built-in templates")
	fs.BoolVarP(&quiet, "quiet", "q", false, "do not print the template's welcome message")
	_ = cmd.RegisterFlagCompletionFunc("lang", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return templates.Languages(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func newFirstSet(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// listLanguages prints the built-in templates and those of templatesDir.
func listLanguages(w io.Writer, templatesDir string) error {
	fmt.Fprintln(w, "Languages available as templates:")
	seen := map[string]bool{}
	if templatesDir != "" {
		for _, d := range []string{filepath.Join(templatesDir, "template"), templatesDir} {
			ents, _ := os.ReadDir(d)
			for _, e := range ents {
				if e.IsDir() && !seen[e.Name()] && newPathExists(filepath.Join(d, e.Name(), "template.yml")) {
					seen[e.Name()] = true
					fmt.Fprintf(w, "- %s (%s)\n", e.Name(), filepath.Join(d, e.Name()))
				}
			}
		}
	}
	for _, l := range templates.Languages() {
		if !seen[l] {
			fmt.Fprintf(w, "- %s\n", l)
		}
	}
	return nil
}

func newPathExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// stackEntry is what `ferry new` writes for a function.
type stackEntry struct {
	Lang    string `yaml:"lang"`
	Handler string `yaml:"handler"`
	Image   string `yaml:"image"`
}

func writeStack(path, gateway, name string, e stackEntry) error {
	doc := fmt.Sprintf(`version: 1.0
provider:
  name: openfaas
  gateway: %s
functions:
  %s:
    lang: %s
    handler: %s
    image: %s
`, gateway, name, e.Lang, e.Handler, e.Image)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	if _, err := f.WriteString(doc); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return f.Close()
}

// appendFunction adds name under `functions:` of an existing stack file,
// keeping its other content (comments included) as yaml.v3 reads it.
func appendFunction(path, name string, e stackEntry) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--append %s: %v", path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("--append %s: not valid YAML (%v): fix it or create a new stack file", path, err)
	}
	if doc.Kind == 0 { // empty file
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if doc.Kind != yaml.DocumentNode || root.Kind != yaml.MappingNode {
		return fmt.Errorf("--append %s: the file is not a stack file (a YAML map with functions:)", path)
	}
	var fns *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "functions" {
			fns = root.Content[i+1]
		}
	}
	if fns == nil || fns.Kind == yaml.ScalarNode && fns.Tag == "!!null" {
		if fns == nil {
			fns = &yaml.Node{Kind: yaml.MappingNode}
			root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "functions"}, fns)
		} else {
			*fns = yaml.Node{Kind: yaml.MappingNode}
		}
	}
	if fns.Kind != yaml.MappingNode {
		return fmt.Errorf("--append %s:%d: functions: is not a map of functions", path, fns.Line)
	}
	for i := 0; i < len(fns.Content); i += 2 {
		if fns.Content[i].Value == name {
			return fmt.Errorf("--append %s:%d: function %s is already in the file: pick another name", path, fns.Content[i].Line, name)
		}
	}
	var val yaml.Node
	if err := val.Encode(e); err != nil {
		return err
	}
	fns.Content = append(fns.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, &val)
	var sb strings.Builder
	enc := yaml.NewEncoder(&sb)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(sb.String()), info.Mode().Perm()); err != nil {
		return fmt.Errorf("--append %s: %v", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return errors.Join(fmt.Errorf("--append %s: %v", path, err), os.Remove(tmp))
	}
	return nil
}
