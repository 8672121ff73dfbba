package function

import "fmt"

// Handle answers one request: req is the body, the result is the response.
// It runs in a WebAssembly sandbox: no network, read-only files (its own
// under /home/app, secrets under /var/openfaas/secrets), the request's
// headers in Http_* variables; what it prints to stderr goes to the logs.
func Handle(req []byte) string {
	return fmt.Sprintf("Hello from Ferry (go-wasm), you said: %s", string(req))
}
