package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/blob"
	"casefile.dev/casefile/internal/config"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/web"
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
  casefile version`)
	config.Usage(w)
}

// app is everything a running Casefile holds open.
type app struct {
	log   *slog.Logger
	db    *store.DB
	emb   *store.Embedded
	audit *auth.Audit
	auth  *auth.Service
	cases *cases.Service
	rca   *rca.Service
}

// open connects the store (starting the embedded one if no URI is set),
// loads keys and prepares every collection.
func open(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	a := &app{log: log}
	uri := cfg.MongoURI
	if uri == "" {
		// FerretDB's own logs join ours, only from WARN up.
		ferretLog := slog.New(log.Handler().WithAttrs([]slog.Attr{slog.String("component", "ferretdb")}))
		ferretLog = slog.New(minLevel{ferretLog.Handler(), slog.LevelWarn})
		emb, err := store.StartEmbedded(ctx, filepath.Join(cfg.DataDir, "db"), ferretLog)
		if err != nil {
			return nil, err
		}
		a.emb = emb
		uri = emb.URI()
	}
	db, err := store.Open(ctx, uri, cfg.Database, a.emb)
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	a.db = db
	key, err := auth.LoadOrCreateKey(cfg.JWTKeyFile)
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	a.audit = auth.NewAudit(db, time.Now)
	a.auth, err = auth.NewService(auth.Config{DB: db, Keys: auth.NewKeySet(key), Now: time.Now, Audit: a.audit})
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	if err := a.auth.Init(ctx); err != nil {
		a.close(ctx)
		return nil, err
	}
	blobs := blob.New(db)
	a.cases = cases.NewService(cases.NewMongoStore(db), a.audit, a.auth, blobs, time.Now)
	classifier, err := rca.NewClassifier()
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	a.rca = rca.NewService(rca.NewMongoStore(db), a.audit, a.cases, classifier, time.Now)
	for _, initer := range []interface{ Init(context.Context) error }{blobs, a.cases, a.rca} {
		if err := initer.Init(ctx); err != nil {
			a.close(ctx)
			return nil, err
		}
	}
	return a, nil
}

func (a *app) close(ctx context.Context) {
	if a.db != nil {
		if err := a.db.Close(context.WithoutCancel(ctx)); err != nil {
			a.log.Warn("closing store", "err", err)
		}
	}
	if a.emb != nil {
		a.emb.Close()
	}
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Parse(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(stdout, cfg.LogLevel)

	a, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close(ctx)

	pw, created, err := a.auth.EnsureAdmin(ctx, cfg.AdminPassword)
	if err != nil {
		return err
	}
	if created && cfg.AdminPassword == "" {
		fmt.Fprintf(stdout, "\n  First start: created user \"admin\" with password %s\n  It is shown only this once; change it with PATCH /api/v1/users/admin.\n\n", pw)
	} else if created {
		log.Info("first start: created user admin with the password from CASEFILE_ADMIN_PASSWORD")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := web.NewServer(web.Deps{
		Auth:           a.auth,
		Users:          a.auth,
		Audit:          a.audit,
		Logger:         log,
		Ready:          a.db.Ping,
		TrustedProxies: cfg.TrustedProxies,
		Metrics:        reg,
		Version:        version,
		Cases:          a.cases,
		RCA:            a.rca,
		MaxAttachment:  cfg.MaxAttachment,
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Listener(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "store", storeKind(a), "data_dir", cfg.DataDir, "version", version)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests", "timeout", cfg.ShutdownTimeout.String())
	if err := srv.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil {
		log.Warn("shutdown", "err", err)
	}
	<-served
	log.Info("stopped")
	return nil
}

func storeKind(a *app) string {
	if a.emb != nil {
		return "embedded"
	}
	return "mongodb"
}

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
	a, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close(ctx)
	u, err := a.auth.CreateUser(ctx, &auth.System, auth.NewUser{
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
