// Command wasmalloc is a WASI command for the wasm memory budget test:
// ?alloc makes 64 MiB of its linear memory resident (one write a page),
// ?hold does too and keeps it 2 s, anything else echoes the body.
package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	q := os.Getenv("Http_Query")
	if q != "alloc" && q != "hold" {
		io.Copy(os.Stdout, os.Stdin)
		return
	}
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	if q == "hold" {
		time.Sleep(2 * time.Second)
	}
	fmt.Print("allocated ", len(b))
}
