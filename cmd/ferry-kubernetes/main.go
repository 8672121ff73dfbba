// Command ferry-kubernetes is ferry with the Kubernetes provider linked in.
// `ferry serve --provider kubernetes` runs it in place of itself; it is also
// the binary of Ferry's own container image for clusters.
package main

import (
	"os"

	"github.com/ferryfaas/ferry/cli"
	_ "github.com/ferryfaas/ferry/cli/kube"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
