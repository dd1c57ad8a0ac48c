// Command casefile runs the Casefile service and its admin tasks.
//
//	casefile [serve] [flags]     run the HTTP service (default)
//	casefile user add [flags]    create a user (password from stdin or CASEFILE_USER_PASSWORD)
//	casefile version             print the version
//
// CASEFILE_CPU_PROFILE=<file> writes a CPU profile of the whole run (for
// `go tool pprof`), whatever the command.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if path := os.Getenv("CASEFILE_CPU_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "casefile: CASEFILE_CPU_PROFILE:", err)
			os.Exit(1)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	err := run(ctx, os.Args, os.Getenv, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "casefile:", err)
	}
	pprof.StopCPUProfile() // os.Exit skips the deferred stop
	if err != nil {
		os.Exit(1)
	}
}
