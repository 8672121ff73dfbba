// Command guest is the wasm runtime's test function: what it does is
// chosen by the query string.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"
	"unsafe"
)

// state would leak between calls if an instance were reused.
var state []byte

func main() {
	switch os.Getenv("Http_Query") {
	case "loop":
		for {
		}
	case "alloc":
		b := make([]byte, 256<<20)
		for i := range b {
			b[i] = 1
		}
		fmt.Print(len(b))
	case "grow":
		// As alloc, one write a page: fast enough for the budget's tests.
		b := make([]byte, 256<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		fmt.Print(len(b))
	case "passwd":
		_, err := os.ReadFile("/etc/passwd")
		fmt.Print("passwd: ", err)
	case "dial":
		// The body names a port the host listens on.
		in, _ := io.ReadAll(os.Stdin)
		_, err := net.Dial("tcp", string(in))
		fmt.Print("dial: ", err)
	case "write":
		err := os.WriteFile("/home/app/x", []byte("x"), 0o644)
		fmt.Print("write: ", err)
	case "secret":
		b, err := os.ReadFile("/var/openfaas/secrets/token")
		fmt.Print(string(b), err)
	case "read":
		// The body names a file to read.
		in, _ := io.ReadAll(os.Stdin)
		b, err := os.ReadFile(string(in))
		fmt.Print(string(b), err)
	case "sleep":
		// The body is how long.
		in, _ := io.ReadAll(os.Stdin)
		d, _ := time.ParseDuration(string(in))
		time.Sleep(d)
		fmt.Print("slept ", d)
	case "own":
		b, err := os.ReadFile("data.txt")
		fmt.Print(string(b), err)
	case "trap":
		// A load past the end of linear memory: a WebAssembly trap, not
		// an exit.
		fmt.Print(*(*byte)(unsafe.Pointer(uintptr(0xfffffff0))))
	case "fail":
		fmt.Fprintln(os.Stderr, "failing on purpose")
		os.Exit(3)
	case "env":
		fmt.Print(os.Getenv("Http_Method"), " ", os.Getenv("Http_Path"), " ", os.Getenv("Http_X_Test"), " ", os.Getenv("greeting"))
	case "state":
		in, _ := io.ReadAll(os.Stdin)
		before := string(state)
		state = append(state, in...)
		time.Sleep(5 * time.Millisecond)
		fmt.Printf("%s|%s", before, state)
	default:
		io.Copy(os.Stdout, os.Stdin)
		fmt.Fprintln(os.Stderr, "echoed")
	}
}
