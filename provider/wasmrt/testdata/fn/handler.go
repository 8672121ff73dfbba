// Package function is the wasm runtime's test function in the go-wasm
// template's reactor form: what it does is chosen by the query string,
// the same cases as testdata/guest (a command) and a few of its own.
package function

import (
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"
)

var (
	// state would leak between calls if an instance were reused.
	state []byte
	// started is when the package was initialised: once per version
	// when calls start from a snapshot.
	started = time.Now()
	// greeting is read at init, from the function's environment.
	greeting = os.Getenv("greeting")
)

func init() {
	if os.Getenv("fail_init") != "" {
		panic("init failing on purpose")
	}
}

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
		_, err := net.Dial("tcp", string(req))
		return fmt.Sprint("dial: ", err)
	case "write":
		err := os.WriteFile("/home/app/x", []byte("x"), 0o644)
		return fmt.Sprint("write: ", err)
	case "secret":
		b, err := os.ReadFile("/var/openfaas/secrets/token")
		return fmt.Sprint(string(b), err)
	case "own":
		b, err := os.ReadFile("data.txt")
		return fmt.Sprint(string(b), err)
	case "fail":
		fmt.Fprintln(os.Stderr, "failing on purpose")
		os.Exit(3)
	case "env":
		return fmt.Sprint(os.Getenv("Http_Method"), " ", os.Getenv("Http_Path"), " ", os.Getenv("Http_X_Test"), " ", os.Getenv("greeting"))
	case "initenv":
		return greeting
	case "state":
		before := string(state)
		state = append(state, req...)
		time.Sleep(5 * time.Millisecond)
		return before + "|" + string(state)
	case "age":
		return time.Since(started).String()
	case "crand":
		return crand.Text()
	case "mrand":
		return fmt.Sprint(rand.Uint64())
	}
	fmt.Fprintln(os.Stderr, "echoed")
	return string(req)
}
