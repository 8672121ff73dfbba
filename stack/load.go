package stack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ferryfaas/ferry/api"
	"gopkg.in/yaml.v3"
)

// Load reads a stack file: expands ${VAR} references with env (pass
// os.LookupEnv), parses and validates it, and merges each function's
// environment_file entries (paths relative to the stack file) into its
// Environment: files override the inline map, later files override earlier
// ones, as in faas-cli. Errors read "FILE:LINE: field.path: problem".
func Load(path string, env func(string) (string, bool)) (*Stack, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file: create one with `ferry new NAME --lang LANG` or pass -f FILE", path)
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	st, err := Parse(path, raw, env)
	if err != nil {
		return nil, err
	}
	for name, fn := range st.Functions {
		if len(fn.EnvironmentFile) == 0 {
			continue
		}
		merged := map[string]string{}
		for k, v := range fn.Environment {
			merged[k] = v
		}
		for _, f := range fn.EnvironmentFile {
			p := f
			if !filepath.IsAbs(p) {
				p = filepath.Join(st.Dir, p)
			}
			vars, err := loadEnvFile(p, f)
			if err != nil {
				return nil, err
			}
			for k, v := range vars {
				merged[k] = v
			}
		}
		fn.Environment = merged
		st.Functions[name] = fn
	}
	return st, nil
}

// Parse is Load without reading files: raw is the stack file's content and
// file is its name in messages. environment_file entries are not read.
func Parse(file string, raw []byte, env func(string) (string, bool)) (*Stack, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	text, err := expand(string(raw), env)
	if err != nil {
		return nil, fmt.Errorf("%s:%s", file, strings.TrimPrefix(err.Error(), "line "))
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s:1: the file is empty: add `functions:` (see `ferry new --help`)", file)
		}
		return nil, syntaxErr(file, err, text)
	}
	d := &decoder{file: file}
	st := &Stack{File: file, Dir: filepath.Dir(file)}
	root := doc.Content[0]
	ps, err := d.pairs(root, "")
	if err != nil {
		return nil, err
	}
	var fnNode *yaml.Node
	for _, p := range ps {
		switch p.key {
		case "version":
			st.Version, err = d.str(p.value, "version")
		case "provider":
			err = d.provider(p.value, &st.Provider)
		case "functions":
			fnNode = p.value
			st.Functions, err = d.functions(p.value)
		case "configuration":
			err = d.configuration(p.value, &st.Configuration)
		default:
			if strings.HasPrefix(p.key, "x-") {
				continue // extension keys hold YAML anchors, as in compose files
			}
			err = d.unknown(p, "", []string{"version", "provider", "functions", "configuration"})
		}
		if err != nil {
			return nil, err
		}
	}
	if fnNode == nil || len(st.Functions) == 0 {
		return nil, d.errf(root, "functions", "no functions defined: add one under `functions:`")
	}
	return st, nil
}

func (d *decoder) provider(n *yaml.Node, p *Provider) error {
	ps, err := d.pairs(n, "provider")
	if err != nil {
		return err
	}
	for _, kv := range ps {
		path := "provider." + kv.key
		switch kv.key {
		case "name":
			p.Name, err = d.str(kv.value, path)
			if err == nil && p.Name != "" && p.Name != "openfaas" && p.Name != "faas" && p.Name != "ferry" {
				err = d.errf(kv.value, path, "%q is not a supported provider: use openfaas", p.Name)
			}
		case "gateway":
			p.Gateway, err = d.str(kv.value, path)
			if err == nil && p.Gateway != "" && !strings.HasPrefix(p.Gateway, "http://") && !strings.HasPrefix(p.Gateway, "https://") {
				err = d.errf(kv.value, path, "%q is not a URL: use http://HOST:PORT", p.Gateway)
			}
		case "network":
			p.Network, err = d.str(kv.value, path)
		default:
			err = d.unknown(kv, "provider", []string{"name", "gateway", "network"})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) configuration(n *yaml.Node, c *Configuration) error {
	ps, err := d.pairs(n, "configuration")
	if err != nil {
		return err
	}
	for _, kv := range ps {
		path := "configuration." + kv.key
		switch kv.key {
		case "copy":
			c.CopyExtraPaths, err = d.strList(kv.value, path)
		case "templates":
			list := resolve(kv.value)
			if isNull(list) {
				continue
			}
			if list.Kind != yaml.SequenceNode {
				return d.errf(list, path, "want a list of {name, source}, got %s", kindOf(list))
			}
			for i, item := range list.Content {
				ip := fmt.Sprintf("%s[%d]", path, i)
				tps, err := d.pairs(item, ip)
				if err != nil {
					return err
				}
				var t TemplateSource
				for _, tp := range tps {
					switch tp.key {
					case "name":
						t.Name, err = d.str(tp.value, ip+".name")
					case "source":
						t.Source, err = d.str(tp.value, ip+".source")
					default:
						err = d.unknown(tp, ip, []string{"name", "source"})
					}
					if err != nil {
						return err
					}
				}
				if t.Name == "" {
					return d.errf(item, ip, "name is required")
				}
				c.Templates = append(c.Templates, t)
			}
		default:
			err = d.unknown(kv, "configuration", []string{"templates", "copy"})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) functions(n *yaml.Node) (map[string]Function, error) {
	ps, err := d.pairs(n, "functions")
	if err != nil {
		return nil, err
	}
	out := make(map[string]Function, len(ps))
	for _, p := range ps {
		path := "functions." + p.key
		if err := api.ValidateName("function", p.key); err != nil {
			return nil, d.errf(p.kNode, path, "%v", err)
		}
		fn, err := d.function(p.value, path)
		if err != nil {
			return nil, err
		}
		fn.Name = p.key
		if fn.Lang == "" && fn.Image == "" {
			return nil, d.errf(p.kNode, path, "set lang (to build from a template) or image (to deploy a prebuilt image)")
		}
		out[p.key] = fn
	}
	return out, nil
}

var functionFields = []string{
	"lang", "handler", "image", "fprocess", "environment", "environment_file",
	"secrets", "labels", "annotations", "limits", "requests", "constraints",
	"readonly_root_filesystem", "build_args", "build_options", "namespace",
	"skip_build", "registry_auth", "build_secrets",
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
var metaKey = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

func (d *decoder) function(n *yaml.Node, path string) (Function, error) {
	var fn Function
	n = resolve(n)
	if isNull(n) {
		return fn, d.errf(n, path, "empty function: set lang and handler, or image")
	}
	ps, err := d.pairs(n, path)
	if err != nil {
		return fn, err
	}
	for _, p := range ps {
		fp := join(path, p.key)
		switch p.key {
		case "lang":
			fn.Lang, err = d.str(p.value, fp)
			if fn.Lang == "Dockerfile" {
				fn.Lang = "dockerfile"
			}
		case "handler":
			fn.Handler, err = d.str(p.value, fp)
		case "image":
			fn.Image, err = d.str(p.value, fp)
			if err == nil && strings.ContainsAny(fn.Image, " \t") {
				err = d.errf(p.value, fp, "%q is not an image reference", fn.Image)
			}
		case "fprocess":
			fn.FProcess, err = d.str(p.value, fp)
		case "environment":
			fn.Environment, err = d.strMap(p.value, fp)
			if err == nil {
				err = d.checkKeys(p.value, fp, envName, "is not a valid environment variable name")
			}
		case "environment_file":
			fn.EnvironmentFile, err = d.strList(p.value, fp)
		case "secrets":
			fn.Secrets, err = d.strList(p.value, fp)
			for i, s := range fn.Secrets {
				if err == nil {
					if verr := api.ValidateName("secret", s); verr != nil {
						err = d.errf(resolve(p.value).Content[i], fmt.Sprintf("%s[%d]", fp, i), "%v", verr)
					}
				}
			}
		case "labels":
			fn.Labels, err = d.strMap(p.value, fp)
			if err == nil {
				err = d.checkKeys(p.value, fp, metaKey, "is not a valid label key (prefix/name of letters, digits, '-', '_', '.')")
			}
		case "annotations":
			fn.Annotations, err = d.strMap(p.value, fp)
			if err == nil {
				err = d.checkKeys(p.value, fp, metaKey, "is not a valid annotation key (prefix/name of letters, digits, '-', '_', '.')")
			}
		case "limits":
			fn.Limits, err = d.resources(p.value, fp)
		case "requests":
			fn.Requests, err = d.resources(p.value, fp)
		case "constraints":
			fn.Constraints, err = d.strList(p.value, fp)
		case "readonly_root_filesystem":
			fn.ReadOnlyRootFilesystem, err = d.boolean(p.value, fp)
		case "build_args":
			fn.BuildArgs, err = d.strMap(p.value, fp)
		case "build_options":
			fn.BuildOptions, err = d.strList(p.value, fp)
		case "namespace":
			fn.Namespace, err = d.str(p.value, fp)
			if err == nil && fn.Namespace != "" {
				if verr := api.ValidateName("namespace", fn.Namespace); verr != nil {
					err = d.errf(p.value, fp, "%v", verr)
				}
			}
		case "skip_build":
			fn.SkipBuild, err = d.boolean(p.value, fp)
		case "registry_auth", "build_secrets":
			// faas-cli fields for Docker builds; accepted and ignored.
		default:
			err = d.unknown(p, path, functionFields)
		}
		if err != nil {
			return fn, err
		}
	}
	return fn, nil
}

func (d *decoder) checkKeys(n *yaml.Node, path string, re *regexp.Regexp, what string) error {
	ps, _ := d.pairs(n, path)
	for _, p := range ps {
		if !re.MatchString(p.key) || len(p.key) > 316 {
			return d.errf(p.kNode, join(path, p.key), "%q %s", p.key, what)
		}
	}
	return nil
}

// gpuKey matches extended resources faas-cli passes through, such as
// nvidia.com/gpu or xilinx.com/fpga.
var gpuKey = regexp.MustCompile(`^[[:graph:]]+[.][[:alnum:]]+/(gpu|fpga)$`)

func (d *decoder) resources(n *yaml.Node, path string) (*Resources, error) {
	ps, err := d.pairs(n, path)
	if err != nil || ps == nil {
		return nil, err
	}
	r := &Resources{}
	for _, p := range ps {
		fp := join(path, p.key)
		v, err := d.str(p.value, fp)
		if err != nil {
			return nil, err
		}
		switch {
		case p.key == "memory":
			if _, err := api.CheckMemory(v); err != nil {
				return nil, d.errf(p.value, fp, "%v", err)
			}
			r.Memory = v
		case p.key == "cpu":
			if _, err := api.CheckCPU(v); err != nil {
				return nil, d.errf(p.value, fp, "%v", err)
			}
			r.CPU = v
		case gpuKey.MatchString(p.key):
			if r.Extra == nil {
				r.Extra = map[string]string{}
			}
			r.Extra[p.key] = v
		default:
			return nil, d.unknown(p, path, []string{"memory", "cpu", "nvidia.com/gpu"})
		}
	}
	return r, nil
}

// loadEnvFile reads faas-cli's environment file: a YAML document with an
// `environment:` map. name is how the stack file referred to it.
func loadEnvFile(path, name string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: environment_file not found (paths are relative to the stack file)", path)
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, syntaxErr(path, err, string(raw))
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	d := &decoder{file: path}
	ps, err := d.pairs(doc.Content[0], "")
	if err != nil {
		return nil, err
	}
	var env map[string]string
	for _, p := range ps {
		if p.key != "environment" {
			return nil, d.unknown(p, "", []string{"environment"})
		}
		if env, err = d.strMap(p.value, "environment"); err != nil {
			return nil, err
		}
		if err := d.checkKeys(p.value, "environment", envName, "is not a valid environment variable name"); err != nil {
			return nil, err
		}
	}
	return env, nil
}
