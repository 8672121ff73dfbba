package stack

import (
	"fmt"
	"strings"
)

// expand substitutes environment variables in the raw text of a stack file
// before it is parsed, the way faas-cli does (drone/envsubst): $VAR,
// ${VAR}, ${VAR:-default} (unset or empty), ${VAR-default} (unset),
// ${VAR:?message} / ${VAR?message} (required), ${VAR:+alt} / ${VAR+alt}.
// "$$" is a literal "$". A "$" not followed by a name or "{" is left alone,
// so shell snippets such as "$1" or "$(...)" survive.
// Errors name the 1-based line of the offending reference.
func expand(text string, env func(string) (string, bool)) (string, error) {
	var b strings.Builder
	b.Grow(len(text))
	line := 1
	for i := 0; i < len(text); {
		c := text[i]
		if c == '\n' {
			line++
		}
		if c != '$' || i+1 >= len(text) {
			b.WriteByte(c)
			i++
			continue
		}
		next := text[i+1]
		switch {
		case next == '$':
			b.WriteByte('$')
			i += 2
		case next == '{':
			end := matchBrace(text, i+1)
			if end < 0 {
				return "", fmt.Errorf("line %d: %q has no closing '}'", line, clip(text[i:]))
			}
			v, err := expandBraced(text[i+2:end], env)
			if err != nil {
				return "", fmt.Errorf("line %d: %v", line, err)
			}
			line += strings.Count(text[i:end], "\n")
			b.WriteString(v)
			i = end + 1
		case isNameStart(next):
			j := i + 1
			for j < len(text) && isNameChar(text[j]) {
				j++
			}
			v, _ := env(text[i+1 : j])
			b.WriteString(v)
			i = j
		default:
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), nil
}

// matchBrace returns the index of the '}' closing the '{' at open, allowing
// nested ${...} in defaults, or -1.
func matchBrace(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		case '\n':
			return -1
		}
	}
	return -1
}

// expandBraced evaluates the inside of ${...}.
func expandBraced(expr string, env func(string) (string, bool)) (string, error) {
	j := 0
	for j < len(expr) && isNameChar(expr[j]) {
		j++
	}
	name, rest := expr[:j], expr[j:]
	if name == "" || !isNameStart(name[0]) {
		return "", fmt.Errorf("${%s} is not a variable reference: use ${NAME} or ${NAME:-default}", clip(expr))
	}
	val, set := env(name)
	if rest == "" {
		return val, nil
	}
	op, arg := rest[:1], rest[1:]
	colon := false
	if op == ":" && len(rest) >= 2 {
		op, arg, colon = rest[1:2], rest[2:], true
	}
	present := set && (!colon || val != "")
	switch op {
	case "-", "=":
		if present {
			return val, nil
		}
		return expand(arg, env)
	case "+":
		if present {
			return expand(arg, env)
		}
		return "", nil
	case "?":
		if present {
			return val, nil
		}
		msg, err := expand(arg, env)
		if err != nil {
			return "", err
		}
		if msg == "" {
			msg = "is not set"
		}
		return "", fmt.Errorf("environment variable %s %s: export it before running ferry", name, msg)
	}
	return "", fmt.Errorf("${%s}: unknown operator %q, use :- - :? ? :+ or +", clip(expr), rest)
}

func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNameChar(c byte) bool  { return isNameStart(c) || c >= '0' && c <= '9' }

func clip(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}
