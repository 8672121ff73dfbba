// Command ferrybench runs every benchmark scenario once and prints one
// Markdown table (see bench/). Usage: go run ./bench/cmd/ferrybench [-run core[,wasm...]] [-quick]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/ferryfaas/ferry/bench"
	"github.com/ferryfaas/ferry/test/harness"
)

func main() {
	filter := flag.String("run", "", "only scenarios whose name contains this, or one of its comma-separated parts")
	quick := flag.Bool("quick", false, "short durations (smoke test)")
	out := flag.String("o", "", "also write the table to this file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bin, err := harness.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	env := &bench.Env{BinDir: bin, Quick: *quick, Log: os.Stderr}
	rows := bench.RunAll(ctx, env, *filter)
	fmt.Printf("\nMachine: %s\n\n", bench.Machine())
	bench.PrintTable(os.Stdout, rows)
	if *out != "" {
		f, err := os.Create(*out)
		if err == nil {
			fmt.Fprintf(f, "Machine: %s\n\n", bench.Machine())
			bench.PrintTable(f, rows)
			f.Close()
		}
	}
}
