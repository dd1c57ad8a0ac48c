package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/config"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/wire"
)

// app is everything a running Casefile holds open.
type app struct {
	log *slog.Logger
	emb *store.Embedded
	db  *store.DB
	*wire.Services
}

// open connects the store (starting the embedded one if no URI is set),
// loads keys, prepares every collection and opens the search index. reg
// receives the store's, the index feed's and the domain's metrics (nil:
// none).
func open(ctx context.Context, cfg config.Config, log *slog.Logger, reg prometheus.Registerer) (*app, error) {
	return openWith(ctx, cfg, log, reg, nil)
}

// openWith is open with tune (when not nil) changing how the services are
// built (casefile demo sets their clock, to seed a past spread over
// weeks, and loads in bulk).
func openWith(ctx context.Context, cfg config.Config, log *slog.Logger, reg prometheus.Registerer, tune func(*wire.Config)) (a *app, err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	a = &app{log: log}
	defer func() {
		if err != nil {
			a.close(ctx)
		}
	}()
	uri := cfg.MongoURI
	if uri == "" {
		// FerretDB's own logs join ours, only from WARN up.
		ferretLog := slog.New(minLevel{log.Handler().WithAttrs([]slog.Attr{slog.String("component", "ferretdb")}), slog.LevelWarn})
		var opts []store.EmbeddedOption
		if cfg.SyncEveryCommit {
			opts = append(opts, store.SyncEveryCommit())
		}
		if a.emb, err = store.StartEmbedded(ctx, filepath.Join(cfg.DataDir, "db"), ferretLog, opts...); err != nil {
			return a, err
		}
		uri = a.emb.URI()
	}
	if a.db, err = store.Open(ctx, uri, cfg.Database, a.emb, store.WithMetrics(reg)); err != nil {
		return a, err
	}
	key, err := auth.LoadOrCreateKey(cfg.JWTKeyFile)
	if err != nil {
		return a, err
	}
	wc := wire.Config{DB: a.db, Keys: auth.NewKeySet(key), Now: time.Now, Logger: log,
		IndexDir: cfg.DataDir, IndexShards: cfg.IndexShards, Registerer: reg, Webhooks: webhookOptions(cfg)}
	if tune != nil {
		tune(&wc)
	}
	a.Services, err = wire.New(ctx, wc)
	return a, err
}

// syncIndex rebuilds the index if there was none, then catches up with
// the store; /readyz reports ready once it is done.
func (a *app) syncIndex(ctx context.Context) error { return a.Sync(ctx, a.log) }

// ready reports whether the service can answer: store reachable and index
// caught up.
func (a *app) ready(ctx context.Context) error {
	if err := a.db.Ping(ctx); err != nil {
		return err
	}
	if !a.Feed.Ready() {
		return errors.New("search index catching up")
	}
	return nil
}

func (a *app) close(ctx context.Context) {
	if a.Services != nil {
		if err := a.Close(); err != nil {
			a.log.Warn("closing search index", "err", err)
		}
	}
	if a.db != nil {
		// Disconnecting waits for connections in use; bound it, so that a
		// stuck operation cannot hold shutdown forever.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := a.db.Close(dctx); err != nil {
			a.log.Warn("closing store", "err", err)
		}
	}
	if a.emb != nil {
		a.emb.Close()
	}
}
