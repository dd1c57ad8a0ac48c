package risk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/rca"
)

// Auditor records audit events; auth.Audit implements it.
type Auditor interface {
	Record(ctx context.Context, e auth.AuditEvent) error
}

// Cases is what the register needs of the case domain: a case as the
// caller may read it (not found when they may not), and the taxonomy's
// policy areas. *cases.Service implements it.
type Cases interface {
	Get(ctx context.Context, u *auth.User, idOrKey string, m auth.Meta) (cases.Case, error)
	Taxonomy(ctx context.Context) (cases.Taxonomy, int64, error)
}

// Incidents is what the register needs of rca: reading incidents to link,
// and opening and pre-filling one when a risk seeds an RCA. *rca.Service
// implements it.
type Incidents interface {
	GetIncident(ctx context.Context, u *auth.User, idOrKey string) (rca.Incident, error)
	ListIncidents(ctx context.Context, u *auth.User, q rca.IncidentQuery) ([]rca.Incident, int, error)
	CreateIncident(ctx context.Context, u *auth.User, in rca.NewIncident, m auth.Meta) (rca.Incident, error)
	PutRCA(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, r rca.RCA, m auth.Meta) (rca.Incident, error)
}

// Directory finds users by name: owners must be active users.
type Directory interface {
	Lookup(ctx context.Context, username string) (auth.User, error)
}

// Service runs the risk register. Every rule is applied here, whoever calls.
type Service struct {
	store     Store
	audit     Auditor
	cases     Cases
	incidents Incidents
	dir       Directory
	now       func() time.Time
	changed   func(ctx context.Context, kind, id string)
	// maxLinks bounds the cases, and separately the incidents, one risk links.
	maxLinks int
}

// NewService wires a Service. now is the clock (tests pass a fake one).
func NewService(s Store, a Auditor, c Cases, i Incidents, d Directory, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, audit: a, cases: c, incidents: i, dir: d, now: now, maxLinks: DefaultMaxLinks}
}

// Init prepares the store.
func (s *Service) Init(ctx context.Context) error { return s.store.Init(ctx) }

// OnChange registers fn to be called after every stored write of a risk,
// with kind "risk" and the risk's id.
func (s *Service) OnChange(fn func(ctx context.Context, kind, id string)) { s.changed = fn }

func (s *Service) notify(ctx context.Context, id string) {
	if s.changed != nil {
		s.changed(ctx, "risk", id)
	}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// maxRetries bounds how often a write without If-Match is retried after
// losing a race with another write.
const maxRetries = 10

func (s *Service) record(ctx context.Context, u *auth.User, m auth.Meta, action, key, outcome string, detail map[string]string) error {
	return s.audit.Record(ctx, auth.AuditEvent{User: u.Username, Role: u.Role, Action: action, Entity: auth.Entity{Type: "risk", ID: key},
		IP: m.IP, RequestID: m.RequestID, Outcome: outcome, Detail: detail})
}

// authorize asks auth.Can for a register-wide action (risks carry no
// access attributes of their own) and audits a refusal.
func (s *Service) authorize(ctx context.Context, u *auth.User, m auth.Meta, a auth.Action, action, key string) error {
	if auth.Can(u, a, auth.Resource{}) {
		return nil
	}
	if err := s.record(ctx, u, m, action, key, auth.OutcomeDenied, nil); err != nil {
		return err
	}
	return errs.E(errs.Forbidden, "your role may not %s", action)
}

// refKey is id when it looks like a risk key, so an audit entry about a
// request names the risk without copying arbitrary client input.
func refKey(id string) string {
	if IsKey(id) {
		return id
	}
	return ""
}

func notFound() error { return errs.E(errs.NotFound, "risk not found") }

// load reads risk id (its key); access is the caller's check.
func (s *Service) load(ctx context.Context, id string) (Risk, error) {
	if !IsKey(id) {
		return Risk{}, notFound()
	}
	r, err := s.store.Risk(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return Risk{}, notFound()
	}
	return r, err
}

// checkUser: field names an active user.
func (s *Service) checkUser(ctx context.Context, field, username string) error {
	a, err := s.dir.Lookup(ctx, username)
	if errs.Is(err, errs.NotFound) || (err == nil && a.Disabled) {
		return &errs.Error{Code: errs.Invalid, Message: "unknown user", Fields: []errs.FieldError{{Field: field, Message: "is not an active user"}}}
	}
	return err
}

// policyAreas are the policy areas of the current taxonomy.
func (s *Service) policyAreas(ctx context.Context) ([]string, error) {
	t, _, err := s.cases.Taxonomy(ctx)
	return t.PolicyAreas, err
}

// NewRisk is the input of Create. A new risk is always emerging.
type NewRisk struct {
	Title       string
	Description string
	PolicyAreas []string
	// Owner defaults to the caller.
	Owner     string
	Discovery Discovery
}

// Create files a risk with key RISK-<year>-<n>.
func (s *Service) Create(ctx context.Context, u *auth.User, in NewRisk, m auth.Meta) (Risk, error) {
	if err := s.authorize(ctx, u, m, auth.EditRisk, "risk.create", ""); err != nil {
		return Risk{}, err
	}
	now := s.clock()
	r := Risk{Title: in.Title, Description: in.Description, PolicyAreas: nonNil(in.PolicyAreas), Status: Emerging,
		Owner: in.Owner, Discovery: in.Discovery, Links: []CaseLink{}, LinkedIncidents: []string{}, Evidence: newEvidence(),
		Changes: []Change{}, CreatedAt: now, CreatedBy: u.Username, UpdatedAt: now, Version: 1}
	if r.Owner == "" {
		r.Owner = u.Username
	}
	areas, err := s.policyAreas(ctx)
	if err != nil {
		return Risk{}, err
	}
	if err := r.validate(areas); err != nil {
		return Risk{}, err
	}
	if err := s.checkUser(ctx, "owner", r.Owner); err != nil {
		return Risk{}, err
	}
	n, err := s.store.NextRiskNumber(ctx, now.Year())
	if err != nil {
		return Risk{}, err
	}
	r.Key = fmt.Sprintf("RISK-%d-%d", now.Year(), n)
	r.ID = r.Key
	if r.Seq, err = s.store.NextSeq(ctx); err != nil {
		return Risk{}, err
	}
	if err := s.store.InsertRisk(ctx, &r); err != nil {
		return Risk{}, err
	}
	s.notify(ctx, r.ID)
	if err := s.record(ctx, u, m, "risk.create", r.Key, auth.OutcomeSuccess, map[string]string{
		"discovery": string(r.Discovery), "policy_areas": strings.Join(r.PolicyAreas, ","), "owner": r.Owner}); err != nil {
		return Risk{}, err
	}
	return s.present(u, r), nil
}

// Get reads a risk as the caller may see it.
func (s *Service) Get(ctx context.Context, u *auth.User, id string, m auth.Meta) (Risk, error) {
	if err := s.authorize(ctx, u, m, auth.ReadRisk, "risk.read", refKey(id)); err != nil {
		return Risk{}, err
	}
	r, err := s.load(ctx, id)
	if err != nil {
		return Risk{}, err
	}
	return s.present(u, r), nil
}

// Query is the input of List.
type Query struct {
	Statuses      []Status
	PolicyAreas   []string
	Owners        []string
	Limit, Offset int
}

// List lists risks newest first, with the total that match.
func (s *Service) List(ctx context.Context, u *auth.User, q Query, m auth.Meta) ([]Summary, int, error) {
	if err := s.authorize(ctx, u, m, auth.ReadRisk, "risk.list", ""); err != nil {
		return nil, 0, err
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	rs, total, err := s.store.FindRisks(ctx, Filter{Statuses: q.Statuses, PolicyAreas: q.PolicyAreas, Owners: q.Owners}, q.Limit, max(0, q.Offset))
	if err != nil {
		return nil, 0, err
	}
	out := make([]Summary, len(rs))
	for i, r := range rs {
		out[i] = summarize(r)
	}
	return out, total, nil
}

// Patch changes a risk; nil fields stay.
type Patch struct {
	Title       *string
	Description *string
	PolicyAreas *[]string
	Status      *Status
	Owner       *string
	Discovery   *Discovery
}

// Update applies p at version ifMatch, which is required: a risk is edited
// by several people, and a blind write would undo someone's change.
func (s *Service) Update(ctx context.Context, u *auth.User, id string, ifMatch int64, p Patch, m auth.Meta) (Risk, error) {
	if err := s.authorize(ctx, u, m, auth.EditRisk, "risk.update", refKey(id)); err != nil {
		return Risk{}, err
	}
	if ifMatch <= 0 {
		return Risk{}, errs.E(errs.PreconditionNeeded, "send If-Match with the ETag you read, so concurrent edits are not lost")
	}
	var areas []string
	if p.PolicyAreas != nil {
		var err error
		if areas, err = s.policyAreas(ctx); err != nil {
			return Risk{}, err
		}
	}
	r, err := s.mutate(ctx, u, id, ifMatch, m, "risk.update", func(r *Risk, _ time.Time) (bool, map[string]string, error) {
		from, owner := r.Status, r.Owner
		// Areas that are not being changed stay valid even if the taxonomy
		// has since dropped one: a risk must stay editable.
		allowed := areas
		if p.PolicyAreas == nil {
			allowed = r.PolicyAreas
		}
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&r.Title, p.Title)
		set(&r.Description, p.Description)
		set(&r.Owner, p.Owner)
		if p.PolicyAreas != nil {
			r.PolicyAreas = nonNil(*p.PolicyAreas)
		}
		if p.Status != nil {
			r.Status = *p.Status
		}
		if p.Discovery != nil {
			r.Discovery = *p.Discovery
		}
		if err := r.validate(allowed); err != nil {
			return false, nil, err
		}
		var detail map[string]string
		if r.Status != from {
			if err := checkMove(from, r.Status); err != nil {
				return false, nil, err
			}
			detail = map[string]string{"from": string(from), "to": string(r.Status)}
		}
		if r.Owner != owner {
			if err := s.checkUser(ctx, "owner", r.Owner); err != nil {
				return false, nil, err
			}
		}
		return true, detail, nil
	})
	if err != nil {
		return Risk{}, err
	}
	return s.present(u, r), nil
}

// edit changes a loaded risk. It reports whether anything changed (an
// unchanged risk is not written) and what the audit entry should detail.
type edit func(r *Risk, now time.Time) (changed bool, detail map[string]string, err error)

// mutate loads risk id, checks the edit right, applies fn and saves. With
// ifMatch 0 a write that loses a race is retried on the fresh risk; with
// ifMatch set it fails (412), as the client asked.
func (s *Service) mutate(ctx context.Context, u *auth.User, id string, ifMatch int64, m auth.Meta, action string, fn edit) (Risk, error) {
	if err := s.authorize(ctx, u, m, auth.EditRisk, action, refKey(id)); err != nil {
		return Risk{}, err
	}
	for range maxRetries {
		r, err := s.load(ctx, id)
		if err != nil {
			return Risk{}, err
		}
		if ifMatch > 0 && r.Version != ifMatch {
			return Risk{}, errs.E(errs.PreconditionFailed, "the risk was changed by someone else (now at version %d); reload and retry", r.Version)
		}
		expected := r.Version
		changed, detail, err := fn(&r, s.clock())
		if err != nil {
			return Risk{}, err
		}
		if !changed {
			return r, nil
		}
		err = s.save(ctx, &r, expected)
		if errs.Is(err, errs.PreconditionFailed) && ifMatch == 0 {
			continue
		}
		if err != nil {
			return Risk{}, err
		}
		return r, s.record(ctx, u, m, action, r.Key, auth.OutcomeSuccess, detail)
	}
	return Risk{}, errs.E(errs.Conflict, "the risk is being changed by many requests at once; retry")
}

// save writes r over version expected, stamping the next version and seq.
func (s *Service) save(ctx context.Context, r *Risk, expected int64) error {
	seq, err := s.store.NextSeq(ctx)
	if err != nil {
		return err
	}
	r.Version, r.Seq, r.UpdatedAt = expected+1, seq, s.clock()
	if err := s.store.ReplaceRisk(ctx, r, expected); err != nil {
		return err
	}
	s.notify(ctx, r.ID)
	return nil
}

// present turns a stored risk into what u may see: the keys of the linked
// cases u may read (none for leadership, who read no case), incidents only
// for those who read incidents, and never a case snapshot.
func (s *Service) present(u *auth.User, r Risk) Risk {
	out := r
	out.LinkedCases = readableKeys(u, r.Links, len(r.Links))
	out.Links = nil
	out.PolicyAreas = nonNil(slices.Clone(r.PolicyAreas))
	out.LinkedIncidents = nonNil(slices.Clone(r.LinkedIncidents))
	if !auth.Can(u, auth.ReadIncident, auth.Resource{}) {
		out.LinkedIncidents, out.RCAIncident = []string{}, ""
	}
	out.Evidence = r.Evidence.clone()
	out.Changes = nonNil(slices.Clone(r.Changes))
	now := s.now()
	for i := range out.Changes {
		out.Changes[i].Overdue = out.Changes[i].IsOverdue(now)
	}
	return out
}

// readableKeys lists, in link order, up to limit keys of linked cases u may read.
func readableKeys(u *auth.User, links []CaseLink, limit int) []string {
	keys := []string{}
	for _, l := range links {
		if len(keys) == limit {
			break
		}
		if auth.Can(u, auth.ReadCase, l.Resource()) {
			keys = append(keys, l.Key)
		}
	}
	return keys
}

func summarize(r Risk) Summary {
	open := 0
	for _, c := range r.Changes {
		if c.Status == rca.ItemOpen || c.Status == rca.ItemInProgress {
			open++
		}
	}
	return Summary{ID: r.ID, Key: r.Key, Title: r.Title, PolicyAreas: nonNil(r.PolicyAreas), Status: r.Status, Owner: r.Owner,
		Discovery: r.Discovery, Evidence: r.Evidence.clone(), IncidentCount: len(r.LinkedIncidents), OpenChanges: open,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
