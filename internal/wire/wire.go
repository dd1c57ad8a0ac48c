// Package wire builds Casefile's services over one store and one search
// index, connected as the binary runs them: every domain write is indexed
// before its request answers, and reports count from the index. The
// binary and the tests that need the whole system use it, so that they
// test what runs.
package wire

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/blob"
	"casefile.dev/casefile/internal/indexsource"
	"casefile.dev/casefile/internal/metrics"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/webhook"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/rca/risk"
	"casefile.dev/casefile/search"
)

// Config is what the services are built from.
type Config struct {
	DB   *store.DB
	Keys *auth.KeySet
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Hash tunes password hashing (zero: the production defaults).
	Hash   auth.HashParams
	Logger *slog.Logger
	// IndexDir holds the search index.
	IndexDir string
	// IndexShards is how many shards the index has (0: search.DefaultShards).
	IndexShards int
	// LearnInBackground lets New return before the root-cause classifier
	// has learned from every stored incident (a server starts faster);
	// otherwise New waits for it, as tests want.
	LearnInBackground bool
	// Registerer receives the index feed's and the domain's metrics
	// (internal/metrics; nil: none).
	Registerer prometheus.Registerer
	// Webhooks are the outgoing webhooks' settings.
	Webhooks webhook.Options
	// BulkLoad leaves writes unindexed until Sync (or Feed.CatchUp)
	// indexes them in batches: for offline loads (casefile demo), where
	// indexing each write on its own costs several times the write
	// (measured: ~70 ms against ~13 ms per seeding step on the embedded
	// store, Bleve merging one-document segments).
	BulkLoad bool
}

// Services are the running parts.
type Services struct {
	Audit    *auth.Audit
	Auth     *auth.Service
	Cases    *cases.Service
	RCA      *rca.Service
	Risks    *risk.Service
	Index    *search.Index
	Feed     *search.Feed
	Source   *indexsource.Source
	Searcher *search.Searcher
	Quality  *quality.Service
	// Webhooks delivers events to subscribers (Run it to send).
	Webhooks *webhook.Service
	// freshIndex: there was no usable index; Sync rebuilds it.
	freshIndex bool
	// stopLearning cancels the classifier's background learning and waits
	// for it (nil when it learned in New).
	stopLearning func()
}

// New prepares every collection, opens the search index and connects the
// services. Close the index when done (Services.Close).
func New(ctx context.Context, cfg Config) (*Services, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Services{Audit: auth.NewAudit(cfg.DB, cfg.Now)}
	var err error
	if s.Auth, err = auth.NewService(auth.Config{DB: cfg.DB, Keys: cfg.Keys, Now: cfg.Now, Hash: cfg.Hash, Audit: s.Audit}); err != nil {
		return nil, err
	}
	blobs := blob.New(cfg.DB)
	caseStore := cases.NewMongoStore(cfg.DB)
	s.Cases = cases.NewService(caseStore, s.Audit, s.Auth, blobs, cfg.Now)
	classifier, err := rca.NewClassifier()
	if err != nil {
		return nil, err
	}
	rcaStore := rca.NewMongoStore(cfg.DB)
	s.RCA = rca.NewService(rcaStore, s.Audit, s.Cases, classifier, cfg.Now)
	riskStore := risk.NewMongoStore(cfg.DB)
	s.Risks = risk.NewService(riskStore, s.Audit, s.Cases, s.RCA, s.Auth, cfg.Now)
	if err := s.Risks.Init(ctx); err != nil {
		return nil, err
	}
	for _, initer := range []interface{ Init(context.Context) error }{s.Auth, blobs, s.Cases, s.RCA} {
		if err := initer.Init(ctx); err != nil {
			return nil, err
		}
	}

	if !cfg.LearnInBackground {
		if err := s.RCA.LearnHistory(ctx); err != nil {
			return nil, err
		}
	}
	if s.Index, s.freshIndex, err = search.OpenWith(cfg.IndexDir, cfg.Logger, search.Options{Shards: cfg.IndexShards}); err != nil {
		return nil, err
	}
	qaStore := quality.NewStore(cfg.DB)
	s.Source = indexsource.New(cfg.DB, caseStore, rcaStore, qaStore, riskStore)
	s.Feed = search.NewFeed(s.Index, s.Source, cfg.Logger, cfg.Registerer)
	s.Searcher = search.NewSearcher(s.Index)
	s.Quality = quality.NewService(qaStore, s.Audit, s.Cases, s.Auth, s.Searcher, cfg.Now, cfg.Logger)
	if err := s.Quality.Init(ctx); err != nil {
		_ = s.Index.Close()
		return nil, err
	}
	// Every write is indexed before its request answers; a failure is
	// retried (Feed.Retry) and caught up at the next start.
	notify := func(ctx context.Context, kind, id string) {
		kinds := []string{kind}
		if kind == search.TypeIncident {
			// Its published postmortem carries its root-cause categories.
			kinds = append(kinds, search.TypePostmortem)
		}
		for _, k := range kinds {
			if err := s.Feed.Notify(ctx, k, id); err != nil {
				cfg.Logger.Warn("indexing a write failed; it will be retried", "kind", k, "id", id, "err", err)
			}
		}
	}
	// A case is indexed from what the service wrote, not read back.
	notifyCase := func(ctx context.Context, c *cases.Case) {
		err := s.Feed.NotifyWith(ctx, search.TypeCase, c.ID, func(ctx context.Context) (search.Change, error) { return s.Source.CaseChange(ctx, c) })
		if err != nil {
			cfg.Logger.Warn("indexing a write failed; it will be retried", "kind", search.TypeCase, "id", c.ID, "err", err)
		}
	}
	if cfg.BulkLoad {
		notify = func(context.Context, string, string) {}
		notifyCase = func(context.Context, *cases.Case) {}
	}
	s.Cases.OnChange(notifyCase)
	s.RCA.OnChange(notify)
	s.Quality.OnChange(notify)
	s.Risks.OnChange(notify)
	// Applied enforcements and closed cases go to QA sampling.
	s.Cases.OnDecision(s.Quality.RecordHook)
	if cfg.Registerer != nil {
		m := metrics.New(metrics.Sources{Search: s.Searcher, Index: s.Index, Feed: s.Feed, Head: s.Source.Head, Now: cfg.Now, Log: cfg.Logger})
		cfg.Registerer.MustRegister(m)
		s.Cases.OnEnforcement(m.CountEnforcement)
	}
	s.RCA.ReportFrom(s.Searcher)
	s.Webhooks, err = webhook.New(ctx, webhook.Config{DB: cfg.DB, Audit: s.Audit, Cases: caseStore, Incidents: rcaStore,
		Taxonomy: s.Cases, Search: s.Searcher, Now: cfg.Now, Logger: cfg.Logger, Registerer: cfg.Registerer, Options: cfg.Webhooks})
	if err != nil {
		_ = s.Index.Close()
		return nil, err
	}
	s.Audit.OnRecord(s.Webhooks.Notify)
	s.Quality.OnAlert(s.Webhooks.QualityAlert)
	if cfg.LearnInBackground {
		s.learnInBackground(ctx, cfg.Logger)
	}
	return s, nil
}

// learnInBackground teaches the root-cause classifier the stored incidents
// on its own goroutine. It outlives New's ctx but not the Services: Close
// stops it before the store it reads from is closed.
func (s *Services) learnInBackground(ctx context.Context, log *slog.Logger) {
	learnCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	s.stopLearning = func() { cancel(); <-done }
	go func() {
		defer close(done)
		start := time.Now()
		if err := s.RCA.LearnHistory(learnCtx); err != nil {
			if learnCtx.Err() == nil {
				log.Warn("the root-cause classifier could not learn from stored incidents", "err", err)
			}
			return
		}
		log.Info("root-cause classifier learned from stored incidents", "took", time.Since(start).String())
	}()
}

// Sync rebuilds the index if there was no usable one, then catches up
// with the store.
func (s *Services) Sync(ctx context.Context, log *slog.Logger) error {
	if s.freshIndex {
		start := time.Now()
		n, err := s.Index.Rebuild(ctx, s.Source, search.DefaultBatch)
		if err != nil {
			return fmt.Errorf("rebuilding the search index: %w", err)
		}
		s.freshIndex = false
		log.Info("search index rebuilt", "documents", n, "took", time.Since(start).String())
	}
	n, err := s.Feed.CatchUp(ctx)
	if err != nil {
		return fmt.Errorf("search index catch-up: %w", err)
	}
	log.Info("search index caught up", "applied", n)
	// Decisions whose QA recording failed at the time are recorded now.
	if n, err = s.Quality.CatchUp(ctx); err != nil {
		return fmt.Errorf("QA decision catch-up: %w", err)
	}
	if n > 0 {
		log.Info("QA recorded missed decisions", "decisions", n)
	}
	return nil
}

// Close stops the classifier's background learning, if any, and closes
// the search index (the store belongs to the caller; close it after).
func (s *Services) Close() error {
	if s.stopLearning != nil {
		s.stopLearning()
	}
	return s.Index.Close()
}
