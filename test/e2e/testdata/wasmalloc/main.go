// Command wasmalloc is a WASI command for the wasm memory budget test:
// ?alloc makes 64 MiB of its linear memory resident (one write a page),
// anything else echoes the body.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	if os.Getenv("Http_Query") != "alloc" {
		io.Copy(os.Stdout, os.Stdin)
		return
	}
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	fmt.Print("allocated ", len(b))
}
