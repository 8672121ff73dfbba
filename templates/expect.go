package templates

import "strings"

// ExpectedReply is what the default handler of lang answers to a request
// with the given body, so that tests (template tests, end-to-end `ferry new`
// → `ferry up` → `ferry invoke`) can check a reply. It returns "" for an
// unknown lang. Replies are compared after trimming trailing white space.
func ExpectedReply(lang, body string) string {
	switch lang {
	case "python3-http":
		return "Hello from Ferry (python3-http), you said: " + body
	case "python3":
		return "Hello from Ferry (python3), you said: " + body
	case "node":
		return "Hello from Ferry (node), you said: " + body
	case "golang-http":
		return "Hello from Ferry (golang-http), input was: " + body
	case "go":
		return "Hello from Ferry (go), you said: " + body
	case "go-wasm":
		return "Hello from Ferry (go-wasm), you said: " + body
	case "rust-wasm":
		return "Hello from Ferry (rust-wasm), you said: " + body
	case "bash":
		return strings.TrimRight("Hello from Ferry (bash), you said: "+body, "\n")
	case "dockerfile":
		return "Hello from Ferry (dockerfile), you said: " + body
	}
	return ""
}

// Scaffold copies lang's default handler (its handler folder) into dst, as
// `ferry new` does. Go templates get a go.mod for the handler module so that
// editors resolve it.
func Scaffold(t *Template, dst string) error {
	if err := copyTree(t.FS, t.HandlerFolder, dst); err != nil {
		return err
	}
	if t.Ferry.Compile == "go" || strings.HasPrefix(t.Ferry.Compile, "go-wasm") {
		return writeNew(dst+"/go.mod", "module handler/function\n\ngo 1.22\n")
	}
	return nil
}
