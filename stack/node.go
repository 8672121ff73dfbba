package stack

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder walks yaml.v3 nodes so that every schema error can name the file,
// the line and the dotted field path, which yaml.Unmarshal cannot do.
type decoder struct {
	file string
}

// errf formats "FILE:LINE: PATH: message".
func (d *decoder) errf(n *yaml.Node, path, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	return fmt.Errorf("%s:%d: %s", d.file, line, msg)
}

// pair is one key/value of a mapping, after merge keys ("<<") are applied.
type pair struct {
	key   string
	kNode *yaml.Node
	value *yaml.Node
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// pairs returns the entries of a mapping in file order; "<<: *anchor"
// entries are expanded, explicit keys win, duplicate keys are an error.
func (d *decoder) pairs(n *yaml.Node, path string) ([]pair, error) {
	n = resolve(n)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, d.errf(n, path, "want a mapping of key: value, got %s", kindOf(n))
	}
	var merged, own []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, d.errf(k, path, "keys must be plain strings")
		}
		if k.Tag == "!!merge" || k.Value == "<<" && k.Style == 0 {
			srcs := []*yaml.Node{resolve(v)}
			if srcs[0].Kind == yaml.SequenceNode {
				srcs = srcs[0].Content
			}
			for _, s := range srcs {
				ps, err := d.pairs(s, path)
				if err != nil {
					return nil, err
				}
				merged = append(merged, ps...)
			}
			continue
		}
		if seen[k.Value] {
			return nil, d.errf(k, join(path, k.Value), "defined twice")
		}
		seen[k.Value] = true
		own = append(own, pair{k.Value, k, v})
	}
	out := own
	for _, p := range merged {
		if !seen[p.key] {
			seen[p.key] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// unknown reports a key that is not part of the schema, suggesting the
// closest known one.
func (d *decoder) unknown(p pair, path string, known []string) error {
	best, bestD := "", 3
	for _, k := range known {
		if dist := levenshtein(p.key, k); dist < bestD {
			best, bestD = k, dist
		}
	}
	if best != "" {
		return d.errf(p.kNode, join(path, p.key), "unknown field; did you mean %q?", best)
	}
	return d.errf(p.kNode, join(path, p.key), "unknown field; known fields are %s", strings.Join(known, ", "))
}

// str reads a scalar as a string; numbers and booleans are taken as
// written (faas-cli accepts `PORT: 8080` in environment maps).
func (d *decoder) str(n *yaml.Node, path string) (string, error) {
	n = resolve(n)
	if isNull(n) {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", d.errf(n, path, "want a string, got %s", kindOf(n))
	}
	return n.Value, nil
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, error) {
	n = resolve(n)
	if isNull(n) {
		return false, nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, nil
		}
	}
	return false, d.errf(n, path, "want true or false, got %s", describe(n))
}

func (d *decoder) strMap(n *yaml.Node, path string) (map[string]string, error) {
	ps, err := d.pairs(n, path)
	if err != nil || ps == nil {
		return nil, err
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		v, err := d.str(p.value, join(path, p.key))
		if err != nil {
			return nil, err
		}
		m[p.key] = v
	}
	return m, nil
}

func (d *decoder) strList(n *yaml.Node, path string) ([]string, error) {
	n = resolve(n)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, d.errf(n, path, "want a list such as [a, b], got %s", kindOf(n))
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		v, err := d.str(c, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return describe(n)
	}
	return "something else"
}

func describe(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindOf(n)
	}
	return fmt.Sprintf("%q", n.Value)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxErr turns "yaml: line 5: did not find expected key" into
// "FILE:5: did not find expected key". yaml.v3 reports the line where the
// enclosing block starts, so when an indentation check of text finds the
// actual misindented line at or after it, that line is named instead.
func syntaxErr(file string, err error, text string) error {
	msg := err.Error()
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("%s: %s", file, strings.TrimPrefix(msg, "yaml: "))
	}
	line, _ := strconv.Atoi(m[1])
	if bad, why := badIndent(text); bad >= line {
		return fmt.Errorf("%s:%d: %s (YAML syntax error: %s)", file, bad, m[2], why)
	}
	return fmt.Errorf("%s:%d: %s (YAML syntax error: check indentation and quoting from this line on)", file, line, m[2])
}

// badIndent finds the first line that uses a tab for indentation or
// dedents to a column no enclosing block uses; 0 if none.
func badIndent(text string) (int, string) {
	levels := []int{0}
	for i, l := range strings.Split(text, "\n") {
		trim := strings.TrimLeft(l, " ")
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		if strings.HasPrefix(trim, "\t") {
			return i + 1, "indent with spaces, not tabs"
		}
		ind := len(l) - len(trim)
		if ind > levels[len(levels)-1] {
			levels = append(levels, ind)
			continue
		}
		for len(levels) > 1 && levels[len(levels)-1] > ind {
			levels = levels[:len(levels)-1]
		}
		if levels[len(levels)-1] != ind {
			return i + 1, fmt.Sprintf("this line is indented by %d spaces, which matches no enclosing block", ind)
		}
	}
	return 0, ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
