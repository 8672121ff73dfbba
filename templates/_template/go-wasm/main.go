// Command handler is Ferry's go-wasm shim, built for GOOS=wasip1
// GOARCH=wasm as a reactor (-buildmode=c-shared): the wasm runtime runs
// the Go runtime's start and the package inits once per deployed version,
// saves the module's memory, and runs each request in a fresh instance
// made from that saved state by calling handle, with the body on stdin;
// what function.Handle returns is written to stdout as the response.
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"unsafe"

	"handler/function"
)

// main is not run: a reactor starts in _initialize and serves handle.
func main() {}

//go:wasmimport wasi_snapshot_preview1 environ_sizes_get
func environSizesGet(count, size unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 environ_get
func environGet(ptrs, buf unsafe.Pointer) uint32

// loadEnv replaces the environment Go read at its start (the saved one,
// without any request's variables) with this call's, so that os.Getenv
// sees the request's Http_* variables.
func loadEnv() {
	var count, size uint32
	if environSizesGet(unsafe.Pointer(&count), unsafe.Pointer(&size)) != 0 {
		log.Fatal("handler: environ_sizes_get failed")
	}
	os.Clearenv()
	if count == 0 || size == 0 {
		return
	}
	ptrs, buf := make([]uint32, count), make([]byte, size)
	if environGet(unsafe.Pointer(&ptrs[0]), unsafe.Pointer(&buf[0])) != 0 {
		log.Fatal("handler: environ_get failed")
	}
	for _, kv := range strings.Split(strings.TrimSuffix(string(buf), "\x00"), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			os.Setenv(k, v)
		}
	}
}

//go:wasmexport handle
func handle() {
	loadEnv()
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		log.Fatalf("handler: reading stdin: %v", err)
	}
	fmt.Print(function.Handle(input))
}
