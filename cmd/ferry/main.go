// Command ferry is Ferry's CLI and server: `ferry serve` runs the platform,
// the other commands talk to a gateway. All logic lives in package cli.
package main

import (
	"os"

	"github.com/ferryfaas/ferry/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
