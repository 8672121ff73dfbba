package function

import (
	"fmt"
	"io"
	"net/http"
)

// Handle answers one request.
func Handle(w http.ResponseWriter, r *http.Request) {
	var input []byte
	if r.Body != nil {
		defer r.Body.Close()
		input, _ = io.ReadAll(r.Body)
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "Hello from Ferry (golang-http), input was: %s", input)
}
