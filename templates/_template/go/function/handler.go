package function

import "fmt"

// Handle answers one request: req is the body, the result is the response.
func Handle(req []byte) string {
	return fmt.Sprintf("Hello from Ferry (go), you said: %s", string(req))
}
