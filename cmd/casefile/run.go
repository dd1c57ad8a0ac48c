package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"casefile.dev/casefile/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// run is the whole program; main only supplies the process's context,
// arguments, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) < 2 {
		return serve(ctx, nil, getenv, stdout)
	}
	switch cmd, rest := args[1], args[2:]; {
	case cmd == "serve":
		return serve(ctx, rest, getenv, stdout)
	case strings.HasPrefix(cmd, "-"):
		return serve(ctx, args[1:], getenv, stdout)
	case cmd == "user" && len(rest) > 0 && rest[0] == "add":
		return userAdd(ctx, rest[1:], getenv, stdout)
	case cmd == "reindex":
		return reindex(ctx, rest, getenv, stdout)
	case cmd == "backup":
		return backup(ctx, rest, getenv, stdout)
	case cmd == "restore":
		return restore(ctx, rest, getenv, stdout)
	case cmd == "load":
		return load(ctx, rest, getenv, stdout)
	case cmd == "import":
		return importCmd(ctx, rest, getenv, stdout)
	case cmd == "demo":
		return demoCmd(ctx, rest, getenv, stdout)
	case cmd == "version":
		fmt.Fprintln(stdout, "casefile", version)
		return nil
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		usage(stdout)
		return nil
	default:
		usage(stdout)
		return fmt.Errorf("unknown command %q", strings.Join(args[1:], " "))
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `usage:
  casefile [serve] [flags]   run the service
  casefile user add --username NAME --role ROLE [--team T] [--vendor V] [--display-name D] [flags]
                             create a user; password from CASEFILE_USER_PASSWORD or the first line of stdin
  casefile reindex [flags]   rebuild the search index from the store (service stopped)
  casefile backup FILE [flags]
                             write a consistent snapshot of the embedded store to FILE
  casefile restore FILE [flags]
                             restore a snapshot into an empty data dir (the index rebuilds at start)
  casefile load [flags]      drive a running server over HTTP and report throughput and latency
  casefile import postmortems DIR [--as USER] [--acknowledge-pii] [flags]
                             import Markdown postmortems (YAML front matter) as published postmortems
  casefile import cases FILE.csv [--as USER] [flags]
                             import cases from CSV; re-running creates no duplicates
                             (both: server stopped when the store is embedded; see casefile import --help)
  casefile demo [--seed N] [--cases N] [--seed-only] [flags]
                             seed a demo dataset into an empty data dir, then serve it
  casefile version`)
	config.Usage(w)
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
