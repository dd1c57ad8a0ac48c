package main

import (
	"casefile.dev/casefile/internal/wire"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"casefile.dev/casefile/internal/config"
	"casefile.dev/casefile/internal/webhook"
	"casefile.dev/casefile/web"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Parse(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(stdout, cfg.LogLevel)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The classifier learns from stored incidents while the server already
	// serves: at 30,000 incidents that read was most of start-up.
	a, err := openWith(ctx, cfg, log, reg, func(wc *wire.Config) { wc.LearnInBackground = true })
	if err != nil {
		return err
	}
	defer a.close(ctx)

	pw, created, err := a.Auth.EnsureAdmin(ctx, cfg.AdminPassword)
	if err != nil {
		return err
	}
	if created && cfg.AdminPassword == "" {
		fmt.Fprintf(stdout, "\n  First start: created user \"admin\" with password %s\n  It is shown only this once; change it with PATCH /api/v1/users/admin.\n\n", pw)
	} else if created {
		log.Info("first start: created user admin with the password from CASEFILE_ADMIN_PASSWORD")
	}

	srv := web.NewServer(web.Deps{
		Auth:           a.Auth,
		Users:          a.Auth,
		Audit:          a.Audit,
		Logger:         log,
		Ready:          a.ready,
		TrustedProxies: cfg.TrustedProxies,
		Metrics:        reg,
		Version:        version,
		Cases:          a.Cases,
		RCA:            a.RCA,
		Risks:          a.Risks,
		Search:         a.Searcher,
		Quality:        a.Quality,
		Webhooks:       a.Webhooks,
		MaxAttachment:  cfg.MaxAttachment,
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Listener(web.LingeringListener(ln)) }()
	// The index catches up in the background; /readyz says when it is done.
	bg, stopBg := context.WithCancel(ctx)
	defer stopBg()
	synced := make(chan struct{})
	go func() {
		defer close(synced)
		if err := a.syncIndex(bg); err != nil && bg.Err() == nil {
			log.Error("search index", "err", err)
			return
		}
		go a.Feed.Retry(bg, 5*time.Second) // writes whose indexing failed
		if cfg.MongoURI != "" {
			// Other instances write to the same store: converge on their writes.
			a.Feed.Poll(bg, time.Second)
		}
	}()
	// Outgoing webhooks: Run returns once bg ends and attempts in flight
	// are drained (bounded).
	hooksDone := make(chan struct{})
	go func() {
		defer close(hooksDone)
		a.Webhooks.Run(bg)
	}()
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
	stopBg()
	<-synced
	<-hooksDone
	log.Info("stopped")
	return nil
}

// webhookOptions are the webhook settings of cfg.
func webhookOptions(cfg config.Config) webhook.Options {
	return webhook.Options{AllowInsecure: cfg.WebhookAllowInsecure, PublicURL: cfg.PublicURL,
		PollInterval: cfg.WebhookPollInterval, SLAInterval: cfg.SLACheckInterval}
}

func storeKind(a *app) string {
	if a.emb != nil {
		return "embedded"
	}
	return "mongodb"
}
