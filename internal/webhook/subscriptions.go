package webhook

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// Format is the shape of a subscription's payloads.
type Format string

const (
	// FormatJSON is Casefile's own payload (see Event).
	FormatJSON Format = "json"
	// FormatSlack is a Slack incoming-webhook message: {"text","blocks"}.
	FormatSlack Format = "slack"
)

// Subscription is an endpoint an admin registered for some events.
type Subscription struct {
	ID     string   `bson:"_id" json:"id"`
	URL    string   `bson:"url" json:"url"`
	Events []string `bson:"events" json:"events"`
	// Secret keys the signatures. It is write-only: never in an answer,
	// a log or the audit trail. It is stored as given, because signing
	// needs it; the database and its backups must be protected like it.
	Secret    string    `bson:"secret" json:"-"`
	Format    Format    `bson:"format" json:"format"`
	CreatedBy string    `bson:"created_by" json:"created_by"`
	CreatedAt time.Time `bson:"created_at" json:"created_at"`
	// Disabled is a deleted subscription: kept, so that its delivery log
	// still names it, but never delivered to, listed or found.
	Disabled   bool       `bson:"disabled" json:"-"`
	DisabledBy string     `bson:"disabled_by,omitempty" json:"-"`
	DisabledAt *time.Time `bson:"disabled_at,omitempty" json:"-"`
	Version    int64      `bson:"version" json:"-"`
}

// NewSubscription is the input of Create.
type NewSubscription struct {
	URL    string
	Events []string
	Secret string
	Format Format // FormatJSON when empty
}

// Secret length bounds. 16 characters is the least that makes guessing
// hopeless when they are random; `openssl rand -hex 32` makes a good one.
const (
	MinSecretLen = 16
	MaxSecretLen = 256
)

var idPattern = regexp.MustCompile(`^wh_[0-9a-f]{24}$`)

func notFound() error { return errs.E(errs.NotFound, "webhook not found") }

func forbidden() error { return errs.E(errs.Forbidden, "only an admin may manage webhooks") }

func (s *Service) validate(in *NewSubscription) error {
	var f errs.Fields
	if msg := s.policy.check(in.URL); msg != "" {
		f.Add("url", "%s", msg)
	}
	if len(in.Events) == 0 {
		f.Add("events", "must name at least one of %s", strings.Join(Events, ", "))
	}
	seen := map[string]bool{}
	for _, e := range in.Events {
		switch {
		case !slices.Contains(Events, e):
			f.Add("events", "%q is not an event; use %s", e, strings.Join(Events, ", "))
		case seen[e]:
			f.Add("events", "%q is named twice", e)
		}
		seen[e] = true
	}
	switch n := len(in.Secret); {
	case n < MinSecretLen || n > MaxSecretLen:
		f.Add("secret", "must be %d to %d characters", MinSecretLen, MaxSecretLen)
	case strings.IndexFunc(in.Secret, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
		f.Add("secret", "must be printable ASCII without spaces")
	}
	if in.Format == "" {
		in.Format = FormatJSON
	}
	if in.Format != FormatJSON && in.Format != FormatSlack {
		f.Add("format", "must be json or slack")
	}
	return f.Err()
}

// Create registers a subscription (admins only). Its secret is never
// returned again.
func (s *Service) Create(ctx context.Context, u *auth.User, in NewSubscription, m auth.Meta) (Subscription, error) {
	if !auth.Can(u, auth.ManageWebhooks, auth.Resource{}) {
		return Subscription{}, forbidden()
	}
	if err := s.validate(&in); err != nil {
		return Subscription{}, err
	}
	sub := Subscription{ID: newID(), URL: in.URL, Events: slices.Clone(in.Events), Secret: in.Secret, Format: in.Format,
		CreatedBy: u.Username, CreatedAt: s.clock(), Version: 1}
	if err := s.db.Insert(ctx, webhooksColl, sub); err != nil {
		return Subscription{}, err
	}
	s.remember(sub)
	return sub, s.record(ctx, u, m, "webhook.create", sub)
}

// Delete disables a subscription (admins only): it gets no more
// deliveries, and those still pending fail.
func (s *Service) Delete(ctx context.Context, u *auth.User, id string, m auth.Meta) error {
	if !auth.Can(u, auth.ManageWebhooks, auth.Resource{}) {
		return forbidden()
	}
	sub, err := s.find(ctx, id)
	if err != nil {
		return err
	}
	now := s.clock()
	expected := sub.Version
	sub.Disabled, sub.DisabledBy, sub.DisabledAt, sub.Version = true, u.Username, &now, expected+1
	if err := s.db.ReplaceVersioned(ctx, webhooksColl, sub.ID, expected, sub); err != nil {
		if errs.Is(err, errs.PreconditionFailed) {
			return errs.E(errs.Conflict, "the webhook changed while it was being deleted; retry")
		}
		return err
	}
	s.forget(sub.ID)
	return s.record(ctx, u, m, "webhook.delete", sub)
}

// List returns the active subscriptions (admins only), newest first, from
// offset, and their total.
func (s *Service) List(ctx context.Context, u *auth.User, limit, offset int) ([]Subscription, int64, error) {
	if !auth.Can(u, auth.ManageWebhooks, auth.Resource{}) {
		return nil, 0, forbidden()
	}
	all, err := s.loadSubscriptions(ctx)
	if err != nil {
		return nil, 0, err
	}
	slices.SortFunc(all, func(a, b Subscription) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	total := int64(len(all))
	if offset > len(all) {
		offset = len(all)
	}
	all = all[offset:]
	if len(all) > limit {
		all = all[:limit]
	}
	return all, total, nil
}

// find reads an active subscription by id: NotFound when there is none
// or it was deleted.
func (s *Service) find(ctx context.Context, id string) (Subscription, error) {
	if !idPattern.MatchString(id) {
		return Subscription{}, notFound()
	}
	var sub Subscription
	if err := s.db.FindByID(ctx, webhooksColl, id, &sub); err != nil {
		if errs.Is(err, errs.NotFound) {
			return Subscription{}, notFound()
		}
		return Subscription{}, err
	}
	if sub.Disabled {
		return Subscription{}, notFound()
	}
	return sub, nil
}

func (s *Service) record(ctx context.Context, u *auth.User, m auth.Meta, action string, sub Subscription) error {
	host := ""
	if p, err := url.Parse(sub.URL); err == nil {
		host = p.Host // the path may be a credential (Slack's are): never the whole URL
	}
	return s.audit.Record(ctx, auth.AuditEvent{User: u.Username, Role: u.Role, Action: action,
		Entity: auth.Entity{Type: "webhook", ID: sub.ID}, IP: m.IP, RequestID: m.RequestID, Outcome: auth.OutcomeSuccess,
		Detail: map[string]string{"host": host, "events": strings.Join(sub.Events, ","), "format": string(sub.Format)}})
}

// loadSubscriptions scans the (small) webhooks collection for the active
// subscriptions and refreshes the cache.
func (s *Service) loadSubscriptions(ctx context.Context) ([]Subscription, error) {
	cur, err := s.db.Collection(webhooksColl).Find(ctx, bson.D{{Key: "disabled", Value: false}})
	if err != nil {
		return nil, fmt.Errorf("webhooks: list: %w", err)
	}
	var all []Subscription
	if err := cur.All(ctx, &all); err != nil {
		return nil, fmt.Errorf("webhooks: list: %w", err)
	}
	m := make(map[string]Subscription, len(all))
	for _, sub := range all {
		m[sub.ID] = sub
	}
	s.subsMu.Lock()
	s.subs, s.subsLoaded = m, true
	s.subsMu.Unlock()
	if all == nil {
		all = []Subscription{}
	}
	return all, nil
}

func (s *Service) reloadSubscriptions(ctx context.Context) error {
	_, err := s.loadSubscriptions(ctx)
	return err
}

// matching returns the active subscriptions to event name that existed
// when it happened: a new subscription is not sent the backlog.
func (s *Service) matching(ctx context.Context, name string, at time.Time) ([]Subscription, error) {
	s.subsMu.Lock()
	loaded := s.subsLoaded
	s.subsMu.Unlock()
	if !loaded {
		if _, err := s.loadSubscriptions(ctx); err != nil {
			return nil, err
		}
	}
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	var out []Subscription
	for _, sub := range s.subs {
		if slices.Contains(sub.Events, name) && !sub.CreatedAt.After(at) {
			out = append(out, sub)
		}
	}
	slices.SortFunc(out, func(a, b Subscription) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// subscription is the active subscription id of a delivery; ok is false
// when it was deleted. It is read from the store, not the cache, so that a
// deletion on another instance stops the very next attempt.
func (s *Service) subscription(ctx context.Context, id string) (Subscription, bool, error) {
	sub, err := s.find(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return Subscription{}, false, nil
	}
	return sub, err == nil, err
}

func (s *Service) remember(sub Subscription) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	if s.subs == nil {
		return // not loaded yet: the load will see it
	}
	s.subs[sub.ID] = sub
}

func (s *Service) forget(id string) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	delete(s.subs, id)
}
