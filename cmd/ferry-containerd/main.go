// Command ferry-containerd is ferry with the containerd runtime linked in.
// `ferry serve --runtime containerd` runs it in place of itself.
package main

import (
	"os"

	"github.com/ferryfaas/ferry/cli"
	_ "github.com/ferryfaas/ferry/cli/ctrd"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
