// Command handler is Ferry's go-wasm shim, built for GOOS=wasip1
// GOARCH=wasm: the wasm runtime runs it in a fresh WebAssembly instance
// per request with the body on stdin; what function.Handle returns is
// written to stdout as the response.
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	"handler/function"
)

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		log.Fatalf("handler: reading stdin: %v", err)
	}
	fmt.Print(function.Handle(input))
}
