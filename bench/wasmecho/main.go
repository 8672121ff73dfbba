// Command wasmecho echoes stdin to stdout: the wasm scenario's Go guest,
// built for GOOS=wasip1 GOARCH=wasm.
package main

import (
	"io"
	"os"
)

func main() { io.Copy(os.Stdout, os.Stdin) }
