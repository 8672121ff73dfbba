package templates_test

// loggingHandlers replace each template's default handler with one that
// gives the same reply and also writes logMarker to stderr, so the test can
// check that `ferry logs` shows the function's own output.
const logMarker = "ferry-log-marker"

var loggingHandlers = map[string][2]string{
	"python3-http": {"handler.py", `import sys


def handle(event, context):
    print("` + logMarker + `", file=sys.stderr, flush=True)
    return {"statusCode": 200, "body": "Hello from Ferry (python3-http)", "headers": {"Content-Type": "text/plain"}}
`},
	"python3": {"handler.py", `import sys


def handle(req):
    print("` + logMarker + `", file=sys.stderr, flush=True)
    return "Hello from Ferry (python3), you said: " + req
`},
	"node": {"handler.js", `'use strict'

module.exports = async (event, context) => {
  console.error('` + logMarker + `')
  return context.status(200).headers({ 'Content-Type': 'text/plain' }).succeed('Hello from Ferry (node)')
}
`},
	"golang-http": {"handler.go", `package function

import (
	"fmt"
	"io"
	"net/http"
	"os"
)

func Handle(w http.ResponseWriter, r *http.Request) {
	input, _ := io.ReadAll(r.Body)
	fmt.Fprintln(os.Stderr, "` + logMarker + `")
	fmt.Fprintf(w, "Hello from Ferry (golang-http), input was: %s", input)
}
`},
	"go": {"handler.go", `package function

import (
	"fmt"
	"os"
)

func Handle(req []byte) string {
	fmt.Fprintln(os.Stderr, "` + logMarker + `")
	return fmt.Sprintf("Hello from Ferry (go), you said: %s", string(req))
}
`},
	"bash": {"handler.sh", `#!/usr/bin/env bash
echo "` + logMarker + `" >&2
input=$(cat)
echo "Hello from Ferry (bash), you said: ${input}"
`},
	"dockerfile": {"echo.sh", `#!/bin/sh
echo "` + logMarker + `" >&2
printf 'Hello from Ferry (dockerfile), you said: %s' "$(cat)"
`},
}
