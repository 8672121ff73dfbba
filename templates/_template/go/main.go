// Command handler is Ferry's go (fork) shim: the watchdog starts it once per
// request with the body on stdin; what function.Handle returns is written to
// stdout as the response.
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
