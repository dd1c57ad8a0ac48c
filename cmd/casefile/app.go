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
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/blob"
	"casefile.dev/casefile/internal/config"
	"casefile.dev/casefile/internal/indexsource"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/search"
)

// app is everything a running Casefile holds open.
type app struct {
	log   *slog.Logger
	emb   *store.Embedded
	db    *store.DB
	audit *auth.Audit
	auth  *auth.Service
	cases *cases.Service
	rca   *rca.Service

	index    *search.Index
	feed     *search.Feed
	source   *indexsource.Source
	searcher *search.Searcher
	// freshIndex: there was no usable index; it must be rebuilt.
	freshIndex bool
}

// open connects the store (starting the embedded one if no URI is set),
// loads keys, prepares every collection and opens the search index. reg
// receives the index feed's metrics (nil: none).
func open(ctx context.Context, cfg config.Config, log *slog.Logger, reg prometheus.Registerer) (a *app, err error) {
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
		if a.emb, err = store.StartEmbedded(ctx, filepath.Join(cfg.DataDir, "db"), ferretLog); err != nil {
			return a, err
		}
		uri = a.emb.URI()
	}
	if a.db, err = store.Open(ctx, uri, cfg.Database, a.emb); err != nil {
		return a, err
	}
	key, err := auth.LoadOrCreateKey(cfg.JWTKeyFile)
	if err != nil {
		return a, err
	}
	a.audit = auth.NewAudit(a.db, time.Now)
	if a.auth, err = auth.NewService(auth.Config{DB: a.db, Keys: auth.NewKeySet(key), Now: time.Now, Audit: a.audit}); err != nil {
		return a, err
	}
	blobs := blob.New(a.db)
	caseStore := cases.NewMongoStore(a.db)
	a.cases = cases.NewService(caseStore, a.audit, a.auth, blobs, time.Now)
	classifier, err := rca.NewClassifier()
	if err != nil {
		return a, err
	}
	rcaStore := rca.NewMongoStore(a.db)
	a.rca = rca.NewService(rcaStore, a.audit, a.cases, classifier, time.Now)
	for _, initer := range []interface{ Init(context.Context) error }{a.auth, blobs, a.cases, a.rca} {
		if err := initer.Init(ctx); err != nil {
			return a, err
		}
	}

	if a.index, a.freshIndex, err = search.Open(cfg.DataDir, log); err != nil {
		return a, err
	}
	a.source = indexsource.New(a.db, caseStore, rcaStore)
	a.feed = search.NewFeed(a.index, a.source, log, reg)
	a.searcher = search.NewSearcher(a.index)
	// Every write is indexed before its request answers.
	notify := func(ctx context.Context, kind, id string) {
		if err := a.feed.Notify(ctx, kind, id); err != nil {
			log.Warn("indexing a write failed; the next catch-up will retry", "kind", kind, "id", id, "err", err)
		}
	}
	a.cases.OnChange(notify)
	a.rca.OnChange(notify)
	return a, nil
}

// syncIndex rebuilds the index if there was none, then catches up with
// the store; /readyz reports ready once it is done.
func (a *app) syncIndex(ctx context.Context) error {
	if a.freshIndex {
		start := time.Now()
		n, err := a.index.Rebuild(ctx, a.source, search.DefaultBatch)
		if err != nil {
			return fmt.Errorf("rebuilding the search index: %w", err)
		}
		a.log.Info("search index rebuilt", "documents", n, "took", time.Since(start).String())
	}
	n, err := a.feed.CatchUp(ctx)
	if err != nil {
		return fmt.Errorf("search index catch-up: %w", err)
	}
	a.log.Info("search index caught up", "applied", n)
	return nil
}

// ready reports whether the service can answer: store reachable and index
// caught up.
func (a *app) ready(ctx context.Context) error {
	if err := a.db.Ping(ctx); err != nil {
		return err
	}
	if !a.feed.Ready() {
		return errors.New("search index catching up")
	}
	return nil
}

func (a *app) close(ctx context.Context) {
	if a.index != nil {
		if err := a.index.Close(); err != nil {
			a.log.Warn("closing search index", "err", err)
		}
	}
	if a.db != nil {
		if err := a.db.Close(context.WithoutCancel(ctx)); err != nil {
			a.log.Warn("closing store", "err", err)
		}
	}
	if a.emb != nil {
		a.emb.Close()
	}
}
