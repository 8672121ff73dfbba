// Command watchdog is Ferry's function watchdog (OpenFaaS-compatible env
// contract); build it static with CGO_ENABLED=0. All logic is in package
// watchdog.
package main

import (
	"os"

	"github.com/ferryfaas/ferry/watchdog"
)

func main() { os.Exit(watchdog.Main()) }
