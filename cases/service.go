package cases

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/blob"
	"casefile.dev/casefile/internal/errs"
)

// Auditor records audit events; auth.Audit implements it.
type Auditor interface {
	Record(ctx context.Context, e auth.AuditEvent) error
}

// Directory finds users by name (to validate assignees).
type Directory interface {
	Lookup(ctx context.Context, username string) (auth.User, error)
}

// Blobs stores evidence files by SHA-256; *blob.Store implements it.
type Blobs interface {
	Put(ctx context.Context, data []byte, now time.Time) (blob.Info, error)
	Open(ctx context.Context, sum string, w io.Writer) (blob.Info, error)
}

// Service is the case workflow: every rule of DOMAIN.md's Actor, Case and
// Enforcement sections is applied here, whoever calls.
type Service struct {
	store Store
	audit Auditor
	dir   Directory
	blobs Blobs
	now   func() time.Time
	// changed is told about every stored write (the search index uses it
	// to index the case before the request answers).
	changed func(ctx context.Context, c *Case)
	// decided is told about every decision QA may sample.
	decided func(ctx context.Context, d Decided)
	// enforced are told about every enforcement step (OnEnforcement).
	enforced []func(ctx context.Context, st EnforcementStep)
}

// OnChange registers fn to be called after every write of a case, with
// the case as stored (and its timeline appended), so that the search
// index need not read it back. fn must not keep c.
func (s *Service) OnChange(fn func(ctx context.Context, c *Case)) { s.changed = fn }

func (s *Service) notify(ctx context.Context, c *Case) {
	if s.changed != nil {
		s.changed(ctx, c)
	}
}

// NewService wires a Service. now is the clock (tests pass a fake one).
func NewService(s Store, a Auditor, d Directory, b Blobs, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, audit: a, dir: d, blobs: b, now: now}
}

// Init prepares the store.
func (s *Service) Init(ctx context.Context) error { return s.store.Init(ctx) }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Meta is the request's audit context.
type Meta = auth.Meta

func (s *Service) record(ctx context.Context, u *auth.User, m Meta, action string, c *Case, outcome string, detail map[string]string) error {
	e := auth.AuditEvent{User: u.Username, Role: u.Role, Action: action, IP: m.IP, RequestID: m.RequestID, Outcome: outcome, Detail: detail}
	if c != nil {
		e.Entity = auth.Entity{Type: "case", ID: c.Key}
	}
	return s.audit.Record(ctx, e)
}

// notFound is the answer for a case the caller may not see: the same as
// for a case that does not exist, so that existence is not revealed.
func notFound() error { return errs.E(errs.NotFound, "case not found") }

// NewCase is the input of Create.
type NewCase struct {
	Title         string
	Summary       string
	Actor         ActorRef
	RelatedActors []string
	PolicyAreas   []string
	Severity      Severity
	SourceKind    string
	SourceChannel string
	Team          string
	Vendor        string
	Assignee      string
	Restricted    bool
	Tags          []string
}

// Create files a case and upserts its actor. With an idempotency key, a
// retried create returns the case the first call made; the same key with a
// different request is a conflict.
func (s *Service) Create(ctx context.Context, u *auth.User, in NewCase, idemKey string, m Meta) (Case, bool, error) {
	if !auth.Can(u, auth.CreateCase, auth.Resource{}) {
		_ = s.record(ctx, u, m, "case.create", nil, auth.OutcomeDenied, nil)
		return Case{}, false, errs.E(errs.Forbidden, "your role may not file cases")
	}
	tax, _, err := s.store.Taxonomy(ctx)
	if err != nil {
		return Case{}, false, err
	}
	now := s.clock()
	c := Case{
		Title: in.Title, Summary: in.Summary, Actor: in.Actor, RelatedActors: nonNil(in.RelatedActors),
		PolicyAreas: nonNil(in.PolicyAreas), Severity: in.Severity, SourceKind: in.SourceKind, SourceChannel: in.SourceChannel,
		Team: in.Team, Vendor: in.Vendor, Assignee: in.Assignee, Restricted: in.Restricted, Tags: nonNil(in.Tags),
		Status: StatusNew, Evidence: []Evidence{}, Behaviors: []Behavior{}, Enforcements: []Enforcement{},
		LinkedCases: []string{}, LinkedIncidents: []string{}, CreatedAt: now, UpdatedAt: now, CreatedBy: u.Username, Version: 1,
	}
	if c.Team == "" && c.Vendor == "" {
		c.Team = u.Team
	}
	if err := c.validate(tax); err != nil {
		return Case{}, false, err
	}
	if err := s.checkAssignee(ctx, c.Assignee); err != nil {
		return Case{}, false, err
	}
	c.forcedRestriction()

	var idem IdempotencyRecord
	if idemKey != "" {
		if len(idemKey) > 200 {
			return Case{}, false, &errs.Error{Code: errs.Invalid, Message: "Idempotency-Key is too long", Fields: []errs.FieldError{{Field: "Idempotency-Key", Message: "must be at most 200 characters"}}}
		}
		body, _ := json.Marshal(in)
		sum := sha256.Sum256(body)
		idem = IdempotencyRecord{Key: u.Username + "\x00" + idemKey, RequestHash: hex.EncodeToString(sum[:]), CaseID: newID(), CreatedAt: now}
		// Claim the key before creating: of two racing retries, one wins
		// the insert and the other is answered with the winner's case.
		if err := s.store.PutIdempotent(ctx, idem); err != nil {
			if !errs.Is(err, errs.Conflict) {
				return Case{}, false, err
			}
			prev, err := s.store.Idempotent(ctx, idem.Key)
			if err != nil {
				return Case{}, false, err
			}
			if prev.RequestHash != idem.RequestHash {
				return Case{}, false, errs.E(errs.Conflict, "this Idempotency-Key was used for a different request")
			}
			// Read through load: a replay answers only if the caller may
			// still read the case.
			existing, err := s.load(ctx, u, prev.CaseID)
			if errs.Is(err, errs.NotFound) {
				return Case{}, false, errs.E(errs.Conflict, "the first request with this Idempotency-Key is still being processed; retry shortly")
			}
			if err != nil {
				return Case{}, false, err
			}
			return s.present(ctx, &existing), false, nil
		}
		c.ID = idem.CaseID
	} else {
		c.ID = newID()
	}

	n, err := s.store.NextCaseNumber(ctx, now.Year())
	if err != nil {
		return Case{}, false, err
	}
	c.Key = fmt.Sprintf("CF-%d-%d", now.Year(), n)
	if c.Seq, err = s.store.NextSeq(ctx); err != nil {
		return Case{}, false, err
	}
	if err := s.upsertActor(ctx, c.Actor, now); err != nil {
		return Case{}, false, err
	}
	created := TimelineEntry{N: 0, At: now, Author: u.Username, Kind: EventCreated, Text: "case filed"}
	c.TimelineCount = 1
	if err := s.store.InsertCase(ctx, &c); err != nil {
		return Case{}, false, err
	}
	if err := s.store.AppendTimeline(ctx, c.ID, created); err != nil {
		return Case{}, false, err
	}
	s.notify(ctx, &c)
	if err := s.record(ctx, u, m, "case.create", &c, auth.OutcomeSuccess, map[string]string{"severity": string(c.Severity), "actor_id": c.Actor.ActorID}); err != nil {
		return Case{}, false, err
	}
	return s.present(ctx, &c), true, nil
}

func (s *Service) checkAssignee(ctx context.Context, username string) error {
	if username == "" {
		return nil
	}
	a, err := s.dir.Lookup(ctx, username)
	if errs.Is(err, errs.NotFound) || (err == nil && a.Disabled) {
		return &errs.Error{Code: errs.Invalid, Message: "unknown assignee", Fields: []errs.FieldError{{Field: "assignee", Message: "is not an active user"}}}
	}
	return err
}

// upsertActor creates the actor or fills identity fields it lacks.
func (s *Service) upsertActor(ctx context.Context, ref ActorRef, now time.Time) error {
	for range 20 {
		a, err := s.store.Actor(ctx, ref.ActorID)
		if errs.Is(err, errs.NotFound) {
			a = Actor{ActorID: ref.ActorID, Handle: ref.Handle, DisplayName: ref.DisplayName, Kind: ref.Kind, Region: ref.Region,
				Labels: []string{}, History: []ActorEnforcement{}, FirstSeen: now, UpdatedAt: now, Version: 1}
			if a.Seq, err = s.store.NextSeq(ctx); err != nil {
				return err
			}
			err = s.store.InsertActor(ctx, &a)
			if errs.Is(err, errs.Conflict) {
				continue // created meanwhile by another case: update it instead
			}
			return err
		}
		if err != nil {
			return err
		}
		changed := false
		set := func(dst *string, v string) {
			if v != "" && *dst != v {
				*dst, changed = v, true
			}
		}
		set(&a.Handle, ref.Handle)
		set(&a.DisplayName, ref.DisplayName)
		set(&a.Region, ref.Region)
		if ref.Kind != "" && a.Kind != ref.Kind {
			a.Kind, changed = ref.Kind, true
		}
		if !changed {
			return nil
		}
		if err := s.replaceActor(ctx, &a, now); !errs.Is(err, errs.PreconditionFailed) {
			return err
		}
	}
	return errs.E(errs.Conflict, "the actor is being changed by many requests at once; retry")
}

func (s *Service) replaceActor(ctx context.Context, a *Actor, now time.Time) error {
	seq, err := s.store.NextSeq(ctx)
	if err != nil {
		return err
	}
	expected := a.Version
	a.Version, a.Seq, a.UpdatedAt = expected+1, seq, now
	return s.store.ReplaceActor(ctx, a, expected)
}

// load resolves an id or key to a case the caller may read.
func (s *Service) load(ctx context.Context, u *auth.User, idOrKey string) (Case, error) {
	id := idOrKey
	if IsKey(idOrKey) {
		var err error
		if id, err = s.store.CaseIDByKey(ctx, idOrKey); err != nil {
			if errs.Is(err, errs.NotFound) {
				return Case{}, notFound()
			}
			return Case{}, err
		}
	} else if len(id) != 20 {
		return Case{}, notFound()
	}
	c, err := s.store.Case(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return Case{}, notFound()
	}
	if err != nil {
		return Case{}, err
	}
	if !auth.Can(u, auth.ReadCase, c.Resource()) {
		return Case{}, notFound()
	}
	return c, nil
}

// loadForEdit is load plus the edit right. A caller who may read but not
// edit gets 403; one who may not read gets 404.
func (s *Service) loadForEdit(ctx context.Context, u *auth.User, idOrKey string, m Meta, action string) (Case, error) {
	c, err := s.load(ctx, u, idOrKey)
	if err != nil {
		return Case{}, err
	}
	if !auth.Can(u, auth.EditCase, c.Resource()) {
		_ = s.record(ctx, u, m, action, &c, auth.OutcomeDenied, nil)
		return Case{}, errs.E(errs.Forbidden, "you may read this case but not change it")
	}
	return c, nil
}

// TimelinePage is how many timeline entries a case read includes.
const TimelinePage = 50

// Get reads a case with its SLA clocks and newest timeline entries. Reads
// of restricted cases are audited.
func (s *Service) Get(ctx context.Context, u *auth.User, idOrKey string, m Meta) (Case, error) {
	c, err := s.load(ctx, u, idOrKey)
	if err != nil {
		return Case{}, err
	}
	if c.Restricted {
		if err := s.record(ctx, u, m, "case.read_restricted", &c, auth.OutcomeSuccess, nil); err != nil {
			return Case{}, err
		}
	}
	out := s.present(ctx, &c)
	tl, err := s.store.Timeline(ctx, c.ID, max(0, c.TimelineCount-TimelinePage), c.TimelineCount)
	if err != nil {
		return Case{}, err
	}
	out.Timeline = tl
	return out, nil
}

// Timeline pages through a case's timeline, oldest first, from entry from.
func (s *Service) Timeline(ctx context.Context, u *auth.User, idOrKey string, from, limit int) ([]TimelineEntry, int, error) {
	c, err := s.load(ctx, u, idOrKey)
	if err != nil {
		return nil, 0, err
	}
	to := min(c.TimelineCount, from+limit)
	tl, err := s.store.Timeline(ctx, c.ID, from, to)
	return tl, c.TimelineCount, err
}

// present fills read-time fields.
func (s *Service) present(ctx context.Context, c *Case) Case {
	out := *c
	tax, _, err := s.store.Taxonomy(ctx)
	if err != nil {
		tax = DefaultTaxonomy()
	}
	now := s.now()
	out.SLA = computeSLA(&out, tax, now)
	out.Enforcements = slices.Clone(c.Enforcements)
	for i := range out.Enforcements {
		out.Enforcements[i].Status = out.Enforcements[i].EffectiveStatus(now)
	}
	retracted := map[int]bool{}
	for _, e := range c.Evidence {
		if e.Retracts > 0 {
			retracted[e.Retracts] = true
		}
	}
	out.Evidence = slices.Clone(c.Evidence)
	for i := range out.Evidence {
		out.Evidence[i].Retracted = retracted[out.Evidence[i].N]
	}
	if out.Timeline == nil {
		out.Timeline = []TimelineEntry{}
	}
	return out
}

func newID() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Taxonomy is the current taxonomy and its version (0: the defaults).
func (s *Service) Taxonomy(ctx context.Context) (Taxonomy, int64, error) {
	return s.store.Taxonomy(ctx)
}

// SetTaxonomy replaces the taxonomy (admins only) if it is still at ifMatch.
func (s *Service) SetTaxonomy(ctx context.Context, u *auth.User, t Taxonomy, ifMatch int64, m Meta) (Taxonomy, int64, error) {
	if !auth.Can(u, auth.WriteTaxonomy, auth.Resource{}) {
		_ = s.record(ctx, u, m, "taxonomy.update", nil, auth.OutcomeDenied, nil)
		return Taxonomy{}, 0, errs.E(errs.Forbidden, "only admins may change the taxonomy")
	}
	if err := t.Validate(); err != nil {
		return Taxonomy{}, 0, err
	}
	if err := s.store.PutTaxonomy(ctx, t, ifMatch); err != nil {
		return Taxonomy{}, 0, err
	}
	return t, ifMatch + 1, s.audit.Record(ctx, auth.AuditEvent{User: u.Username, Role: u.Role, Action: "taxonomy.update",
		Entity: auth.Entity{Type: "taxonomy", ID: "cases"}, IP: m.IP, RequestID: m.RequestID, Outcome: auth.OutcomeSuccess})
}
