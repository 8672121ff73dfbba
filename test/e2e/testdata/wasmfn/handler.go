// Package function is the wasm runtime's end-to-end test function (lang
// go-wasm): what it does is chosen by the query string.
package function

import (
	"fmt"
	"net"
	"os"
	"time"
)

// state would leak between calls if an instance were reused.
var state []byte

func Handle(req []byte) string {
	switch os.Getenv("Http_Query") {
	case "loop":
		for {
		}
	case "alloc":
		b := make([]byte, 256<<20)
		for i := range b {
			b[i] = 1
		}
		return fmt.Sprint(len(b))
	case "passwd":
		_, err := os.ReadFile("/etc/passwd")
		return fmt.Sprint("passwd: ", err)
	case "dial":
		// The body names an address the host listens on.
		_, err := net.Dial("tcp", string(req))
		return fmt.Sprint("dial: ", err)
	case "fail":
		fmt.Fprintln(os.Stderr, "failing on purpose")
		os.Exit(3)
	case "state":
		before := string(state)
		state = append(state, req...)
		time.Sleep(5 * time.Millisecond)
		return before + "|" + string(state)
	}
	fmt.Fprintln(os.Stderr, "wasm-e2e-marker")
	return "wasm says: " + string(req)
}
