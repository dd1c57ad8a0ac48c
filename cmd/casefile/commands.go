package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/config"
	"casefile.dev/casefile/search"
)

func userAdd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("casefile user add", flag.ContinueOnError)
	fs.SetOutput(stdout)
	username := fs.String("username", "", "username (required)")
	role := fs.String("role", "", "one of admin, lead, investigator, vendor_agent, leadership (required)")
	team := fs.String("team", "", "team")
	vendor := fs.String("vendor", "", "vendor (vendor_agent only)")
	display := fs.String("display-name", "", "display name")
	finish := config.Register(fs, getenv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg, err := finish()
	if err != nil {
		return err
	}
	password := getenv("CASEFILE_USER_PASSWORD")
	if password == "" {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password from stdin: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}

	log := newLogger(io.Discard, slog.LevelError)
	a, err := open(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer a.close(ctx)
	u, err := a.Auth.CreateUser(ctx, &auth.System, auth.NewUser{
		Username: *username, DisplayName: *display, Role: auth.Role(*role), Team: *team, Vendor: *vendor, Password: password,
	}, auth.Meta{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s (%s)\n", u.Username, u.Role)
	return nil
}

// minLevel drops records below a level, whatever the wrapped handler allows.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// Handle drops FerretDB's wire dumps. FerretDB v1.24 logs every failed
// command at WARN as two records ("Response header: ...", "Response
// message: ..." with the whole document); the driver's endSessions on
// disconnect, which FerretDB does not implement, causes them at every
// shutdown. They are noise, not warnings.
func (h minLevel) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "Response header:") || strings.HasPrefix(r.Message, "Response message:") {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}

// reindex rebuilds the search index from the store, offline.
func reindex(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Parse(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(stdout, cfg.LogLevel)
	a, err := open(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer a.close(ctx)
	start := time.Now()
	n, err := a.Index.Rebuild(ctx, a.Source, search.DefaultBatch)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reindexed %d documents in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
