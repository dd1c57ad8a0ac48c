// Command casefile runs the Casefile service and its admin tasks.
//
//	casefile [serve] [flags]     run the HTTP service (default)
//	casefile user add [flags]    create a user (password from stdin or CASEFILE_USER_PASSWORD)
//	casefile version             print the version
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "casefile:", err)
		os.Exit(1)
	}
}
