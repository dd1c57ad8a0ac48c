// Package web is Casefile's HTTP layer: the Fiber app, its routes,
// middleware, problem+json errors and handlers. It decodes requests, asks
// the domain services to act, and encodes their answers; it never talks to
// MongoDB or Bleve itself.
package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
)

// AuthService signs callers in and out and identifies them.
type AuthService interface {
	Login(ctx context.Context, username, password string, m auth.Meta) (auth.Tokens, error)
	Refresh(ctx context.Context, refreshToken string, m auth.Meta) (auth.Tokens, error)
	Logout(ctx context.Context, p *auth.Principal, m auth.Meta) error
	Authenticate(ctx context.Context, accessToken string) (*auth.Principal, error)
}

// UserService manages user accounts; it checks the caller's right itself.
type UserService interface {
	CreateUser(ctx context.Context, by *auth.User, in auth.NewUser, m auth.Meta) (auth.User, error)
	GetUser(ctx context.Context, by *auth.User, username string, m auth.Meta) (auth.User, error)
	ListUsers(ctx context.Context, by *auth.User, limit int, after string, m auth.Meta) ([]auth.User, string, int64, error)
	UpdateUser(ctx context.Context, by *auth.User, username string, version int64, p auth.UserPatch, m auth.Meta) (auth.User, error)
}

// AuditLog is the hash-chained audit trail.
type AuditLog interface {
	Record(ctx context.Context, e auth.AuditEvent) error
	List(ctx context.Context, f auth.AuditFilter, limit int, cursor string) ([]auth.AuditEvent, string, int64, error)
	Verify(ctx context.Context) (auth.VerifyResult, error)
}

// Deps is everything the HTTP layer needs.
type Deps struct {
	Auth   AuthService
	Users  UserService
	Audit  AuditLog
	Logger *slog.Logger
	// Ready reports whether the service can serve (store reachable, index
	// caught up); /readyz answers 503 while it returns an error.
	Ready func(ctx context.Context) error
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Metrics receives the HTTP metrics; /metrics serves it.
	Metrics *prometheus.Registry
	Version string
	// Cases is the case workflow.
	Cases CaseService
	// RCA runs incidents, RCAs and postmortems.
	RCA RCAService
	// Risks is the risk register.
	Risks RiskService
	// Search answers /search and the list views.
	Search Searcher
	// Quality runs QA sampling, reviews and scorecards.
	Quality *quality.Service
	// Webhooks manages outgoing webhooks (admin).
	Webhooks WebhookService
	// Now is the clock (SLA states in lists); nil means time.Now.
	Now func() time.Time
	// MaxAttachment limits one evidence file; 0 means the default 25 MiB.
	MaxAttachment int64
}

// Limits of the HTTP layer.
const (
	MaxJSONBody = 1 << 20
	// readBuffer bounds the request line and headers. Longer requests are
	// refused by the transport (431) before any handler or token parser
	// sees them.
	readBuffer = 16 << 10
)

// NewServer builds the Fiber app with every route of routes.go.
func NewServer(d Deps) *fiber.App {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = prometheus.NewRegistry()
	}
	if d.MaxAttachment <= 0 {
		d.MaxAttachment = cases.DefaultMaxAttachment
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Ready == nil {
		d.Ready = func(context.Context) error { return nil }
	}
	app := fiber.New(fiber.Config{
		AppName:      "casefile",
		ErrorHandler: errorHandler(d.Logger),
		// Uploads need room for a file plus its multipart framing; JSON
		// bodies are held to MaxJSONBody by decodeJSON.
		BodyLimit:             int(d.MaxAttachment) + 64<<10,
		ReadBufferSize:        readBuffer,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		DisableStartupMessage: true,
		// Values from c.Params, c.Query and c.Body stay valid after the
		// handler returns; nothing can keep a buffer fasthttp reuses.
		Immutable:     true,
		CaseSensitive: true,
		JSONEncoder:   json.Marshal,
		JSONDecoder:   json.Unmarshal,
	})
	registerRoutes(app, d)
	return app
}
