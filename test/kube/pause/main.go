// Command pause is the sandbox ("pause") container of the test cluster: a
// static binary that sleeps until it is signalled, so that no registry is
// needed for pod sandboxes.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
