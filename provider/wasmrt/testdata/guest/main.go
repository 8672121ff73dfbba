// Command guest is the wasm runtime's test function: what it does is
// chosen by the query string.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"
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
	case "own":
		b, err := os.ReadFile("data.txt")
		fmt.Print(string(b), err)
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
