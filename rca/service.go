package rca

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// Auditor records audit events; auth.Audit implements it.
type Auditor interface {
	Record(ctx context.Context, e auth.AuditEvent) error
}

// Cases is what the RCA service needs of the case domain: linking
// incidents on the case side, the actors of linked cases (for the PII
// check), and the taxonomy's root-cause subcategories.
type Cases interface {
	LinkIncident(ctx context.Context, u *auth.User, caseKey, incidentKey string, linked bool, m auth.Meta) error
	ActorIdentifiers(ctx context.Context, caseKeys []string) (ids, handles []string, err error)
	RootCauseSubcategories(ctx context.Context) (map[string][]string, error)
}

// Service runs incidents, RCAs, action items and postmortems.
type Service struct {
	store    Store
	audit    Auditor
	cases    Cases
	classify *Classifier
	markdown *Markdown
	now      func() time.Time
	changed  func(ctx context.Context, kind, id string)
	tally    Tallier
}

// OnChange registers fn to be called after every stored write of an
// incident (kind "incident") or postmortem (kind "postmortem").
func (s *Service) OnChange(fn func(ctx context.Context, kind, id string)) { s.changed = fn }

func (s *Service) notify(ctx context.Context, kind, id string) {
	if s.changed != nil {
		s.changed(ctx, kind, id)
	}
}

// NewService wires a Service.
func NewService(s Store, a Auditor, c Cases, cl *Classifier, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, audit: a, cases: c, classify: cl, markdown: NewMarkdown(), now: now}
}

// Init prepares the store and trains the classifier on every root cause a
// human has categorised.
func (s *Service) Init(ctx context.Context) error {
	return s.store.Init(ctx)
}

// LearnHistory teaches the classifier every root cause already filed. It
// reads every incident, which at tens of thousands of incidents takes
// seconds, so the server runs it in the background after start-up: until
// it is done, suggestions come from the seed examples and what was filed
// since. Learning is additive, so its order with live filings does not
// matter.
func (s *Service) LearnHistory(ctx context.Context) error {
	return s.store.EachIncident(ctx, func(in *Incident) error {
		s.classify.Learn(labels(in.RCA.RootCauses)...)
		return nil
	})
}

func labels(rcs []RootCause) []Labeled {
	out := make([]Labeled, 0, len(rcs))
	for _, rc := range rcs {
		if rc.Category.Valid() {
			out = append(out, Labeled{Text: rc.Description, Category: rc.Category})
		}
	}
	return out
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func (s *Service) record(ctx context.Context, u *auth.User, m auth.Meta, action, entityType, id, outcome string, detail map[string]string) error {
	return s.audit.Record(ctx, auth.AuditEvent{User: u.Username, Role: u.Role, Action: action, Entity: auth.Entity{Type: entityType, ID: id},
		IP: m.IP, RequestID: m.RequestID, Outcome: outcome, Detail: detail})
}

func (s *Service) deny(ctx context.Context, u *auth.User, m auth.Meta, action, id string) error {
	if err := s.record(ctx, u, m, action, "incident", id, auth.OutcomeDenied, nil); err != nil {
		return err
	}
	return errs.E(errs.Forbidden, "your role may not %s", action)
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

// NewIncident is the input of CreateIncident.
type NewIncident struct {
	Kind        Kind
	Title       string
	Severity    Severity
	Status      Status
	StartedAt   time.Time
	DetectedAt  *time.Time
	MitigatedAt *time.Time
	ResolvedAt  *time.Time
	Detection   string
	Impact      Impact
	Owner       string
	LinkedCases []string
}

// CreateIncident opens an incident (or issue) with key INC-<year>-<n>.
func (s *Service) CreateIncident(ctx context.Context, u *auth.User, in NewIncident, m auth.Meta) (Incident, error) {
	if !auth.Can(u, auth.CreateIncident, auth.Resource{}) {
		return Incident{}, s.deny(ctx, u, m, "incident.create", "")
	}
	now := s.clock()
	inc := Incident{Kind: in.Kind, Title: in.Title, Severity: in.Severity, Status: in.Status, StartedAt: in.StartedAt.UTC(),
		DetectedAt: in.DetectedAt, MitigatedAt: in.MitigatedAt, ResolvedAt: in.ResolvedAt, Detection: in.Detection,
		Impact: in.Impact, Owner: in.Owner, LinkedCases: nonNil(in.LinkedCases), ActionItems: []ActionItem{},
		RCA:       RCA{RootCauses: []RootCause{}, ContributingFactors: []string{}, MitigationGaps: []MitigationGap{}},
		CreatedAt: now, CreatedBy: u.Username, UpdatedAt: now, Version: 1}
	if inc.Kind == "" {
		inc.Kind = KindIncident
	}
	if inc.Status == "" {
		inc.Status = Investigating
	}
	if inc.Owner == "" {
		inc.Owner = u.Username
	}
	inc.Impact.Regions = nonNil(inc.Impact.Regions)
	if err := inc.validate(); err != nil {
		return Incident{}, err
	}
	n, err := s.store.NextIncidentNumber(ctx, now.Year())
	if err != nil {
		return Incident{}, err
	}
	inc.ID, inc.Key = newID(), fmt.Sprintf("INC-%d-%d", now.Year(), n)
	// Link the cases first: a case the caller may not see fails the
	// request before anything is stored.
	for i, k := range inc.LinkedCases {
		if err := s.cases.LinkIncident(ctx, u, k, inc.Key, true, m); err != nil {
			s.unlinkCases(ctx, u, inc.LinkedCases[:i], inc.Key, m)
			return Incident{}, linkError(k, err)
		}
	}
	if inc.Seq, err = s.store.NextSeq(ctx); err != nil {
		s.unlinkCases(ctx, u, inc.LinkedCases, inc.Key, m)
		return Incident{}, err
	}
	if err := s.store.InsertIncident(ctx, &inc); err != nil {
		s.unlinkCases(ctx, u, inc.LinkedCases, inc.Key, m)
		return Incident{}, err
	}
	s.notify(ctx, "incident", inc.ID)
	if err := s.record(ctx, u, m, "incident.create", "incident", inc.Key, auth.OutcomeSuccess, map[string]string{"severity": string(inc.Severity)}); err != nil {
		return Incident{}, err
	}
	return s.present(ctx, u, inc), nil
}

// unlinkCases undoes the links a failed request made, so that no case
// points at an incident that was not stored or does not link it back. It
// is best effort: the request's own error is what the caller reports.
func (s *Service) unlinkCases(ctx context.Context, u *auth.User, caseKeys []string, incidentKey string, m auth.Meta) {
	for _, k := range caseKeys {
		_ = s.cases.LinkIncident(ctx, u, k, incidentKey, false, m)
	}
}

func linkError(key string, err error) error {
	if errs.Is(err, errs.NotFound) {
		return &errs.Error{Code: errs.Invalid, Message: "unknown case", Fields: []errs.FieldError{{Field: "linked_cases", Message: key + " is not a case you can see"}}}
	}
	return err
}

// load resolves an id or key to an incident the caller may read.
func (s *Service) load(ctx context.Context, u *auth.User, idOrKey string) (Incident, error) {
	id := idOrKey
	if IsKey(idOrKey) {
		var err error
		if id, err = s.store.IncidentIDByKey(ctx, idOrKey); err != nil {
			if errs.Is(err, errs.NotFound) {
				return Incident{}, errs.E(errs.NotFound, "incident not found")
			}
			return Incident{}, err
		}
	} else if len(id) != 20 {
		return Incident{}, errs.E(errs.NotFound, "incident not found")
	}
	in, err := s.store.Incident(ctx, id)
	if errs.Is(err, errs.NotFound) || (err == nil && !auth.Can(u, auth.ReadIncident, auth.Resource{})) {
		return Incident{}, errs.E(errs.NotFound, "incident not found")
	}
	return in, err
}

// present derives computed fields and, for leadership, reduces the
// incident to its summary: no linked cases, RCA text or action items.
func (s *Service) present(ctx context.Context, u *auth.User, in Incident) Incident {
	in.derive()
	now := s.now()
	for i := range in.ActionItems {
		in.ActionItems[i].Overdue = in.ActionItems[i].IsOverdue(now)
	}
	in.PostmortemDue = postmortemDue(&in)
	if p, err := s.store.Postmortem(ctx, in.ID); err == nil {
		st := p.Status
		in.PostmortemStatus = &st
		in.PostmortemLate = in.PostmortemDue != nil && p.PublishedRevision == 0 && now.After(*in.PostmortemDue)
	} else if in.PostmortemDue != nil && now.After(*in.PostmortemDue) {
		in.PostmortemLate = true
	}
	if !auth.Can(u, auth.EditIncident, auth.Resource{}) {
		in.LinkedCases = []string{}
		in.RCA = RCA{RootCauses: []RootCause{}, ContributingFactors: []string{}, MitigationGaps: []MitigationGap{}}
		in.ActionItems = []ActionItem{}
	}
	return in
}

// GetIncident reads an incident (a summary for leadership).
func (s *Service) GetIncident(ctx context.Context, u *auth.User, idOrKey string) (Incident, error) {
	in, err := s.load(ctx, u, idOrKey)
	if err != nil {
		return Incident{}, err
	}
	return s.present(ctx, u, in), nil
}

// IncidentPatch changes an incident; nil fields stay.
type IncidentPatch struct {
	Title       *string
	Severity    *Severity
	Status      *Status
	StartedAt   *time.Time
	DetectedAt  *time.Time
	MitigatedAt *time.Time
	ResolvedAt  *time.Time
	Detection   *string
	Impact      *Impact
	Owner       *string
	LinkedCases *[]string
}

// UpdateIncident applies p at version ifMatch. Linking or unlinking a case
// updates the case too.
func (s *Service) UpdateIncident(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, p IncidentPatch, m auth.Meta) (Incident, error) {
	in, err := s.load(ctx, u, idOrKey)
	if err != nil {
		return Incident{}, err
	}
	if !auth.Can(u, auth.EditIncident, auth.Resource{}) {
		return Incident{}, s.deny(ctx, u, m, "incident.update", in.Key)
	}
	if in.Version != ifMatch {
		return Incident{}, errs.E(errs.PreconditionFailed, "the incident was changed by someone else (now at version %d); reload and retry", in.Version)
	}
	before := slices.Clone(in.LinkedCases)
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&in.Title, p.Title)
	set(&in.Detection, p.Detection)
	set(&in.Owner, p.Owner)
	if p.Severity != nil {
		in.Severity = *p.Severity
	}
	if p.Status != nil {
		in.Status = *p.Status
	}
	if p.StartedAt != nil {
		in.StartedAt = p.StartedAt.UTC()
	}
	if p.DetectedAt != nil {
		in.DetectedAt = p.DetectedAt
	}
	if p.MitigatedAt != nil {
		in.MitigatedAt = p.MitigatedAt
	}
	if p.ResolvedAt != nil {
		in.ResolvedAt = p.ResolvedAt
	}
	if p.Impact != nil {
		in.Impact = *p.Impact
		in.Impact.Regions = nonNil(in.Impact.Regions)
	}
	if p.LinkedCases != nil {
		in.LinkedCases = nonNil(*p.LinkedCases)
	}
	if err := in.validate(); err != nil {
		return Incident{}, err
	}
	var added []string
	for _, k := range in.LinkedCases {
		if !slices.Contains(before, k) {
			if err := s.cases.LinkIncident(ctx, u, k, in.Key, true, m); err != nil {
				s.unlinkCases(ctx, u, added, in.Key, m)
				return Incident{}, linkError(k, err)
			}
			added = append(added, k)
		}
	}
	// Unlink before saving too: a case the caller may not see cannot be
	// unlinked (it would keep a link the incident no longer has).
	var removed []string
	undo := func() {
		s.unlinkCases(ctx, u, added, in.Key, m)
		for _, k := range removed {
			_ = s.cases.LinkIncident(ctx, u, k, in.Key, true, m)
		}
	}
	for _, k := range before {
		if slices.Contains(in.LinkedCases, k) {
			continue
		}
		if err := s.cases.LinkIncident(ctx, u, k, in.Key, false, m); err != nil {
			undo()
			return Incident{}, linkError(k, err)
		}
		removed = append(removed, k)
	}
	if err := s.save(ctx, &in, ifMatch); err != nil {
		undo()
		return Incident{}, err
	}
	if err := s.record(ctx, u, m, "incident.update", "incident", in.Key, auth.OutcomeSuccess, nil); err != nil {
		return Incident{}, err
	}
	return s.present(ctx, u, in), nil
}

func (s *Service) save(ctx context.Context, in *Incident, expected int64) error {
	seq, err := s.store.NextSeq(ctx)
	if err != nil {
		return err
	}
	in.Version, in.Seq, in.UpdatedAt = expected+1, seq, s.clock()
	if err := s.store.ReplaceIncident(ctx, in, expected); err != nil {
		return err
	}
	s.notify(ctx, "incident", in.ID)
	return nil
}

// PutRCA replaces the RCA of an incident. Every root cause gets the
// classifier's suggestion stored beside the human category, and the
// classifier learns the new labels (and forgets the replaced ones).
func (s *Service) PutRCA(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, r RCA, m auth.Meta) (Incident, error) {
	in, err := s.load(ctx, u, idOrKey)
	if err != nil {
		return Incident{}, err
	}
	if !auth.Can(u, auth.EditIncident, auth.Resource{}) {
		return Incident{}, s.deny(ctx, u, m, "rca.update", in.Key)
	}
	if ifMatch > 0 && in.Version != ifMatch {
		return Incident{}, errs.E(errs.PreconditionFailed, "the incident was changed by someone else (now at version %d); reload and retry", in.Version)
	}
	subs, err := s.cases.RootCauseSubcategories(ctx)
	if err != nil {
		return Incident{}, err
	}
	r.RootCauses = nonNil(r.RootCauses)
	r.ContributingFactors = nonNil(r.ContributingFactors)
	r.MitigationGaps = nonNil(r.MitigationGaps)
	if err := r.validate(subs); err != nil {
		return Incident{}, err
	}
	for i := range r.RootCauses {
		sug := s.classify.Classify(r.RootCauses[i].Description)
		r.RootCauses[i].SuggestedCategory, r.RootCauses[i].SuggestionConfidence = sug.Category, sug.Confidence
	}
	for _, a := range in.ActionItems {
		if a.RootCause != nil && *a.RootCause >= len(r.RootCauses) {
			return Incident{}, &errs.Error{Code: errs.Conflict, Message: fmt.Sprintf("action item %d addresses root cause %d, which this RCA removes; re-point it first", a.N, *a.RootCause)}
		}
	}
	now := s.clock()
	old := in.RCA.RootCauses
	r.UpdatedBy, r.UpdatedAt = u.Username, &now
	in.RCA = r
	if err := s.save(ctx, &in, in.Version); err != nil {
		return Incident{}, err
	}
	s.classify.Unlearn(labels(old)...)
	s.classify.Learn(labels(r.RootCauses)...)
	if err := s.record(ctx, u, m, "rca.update", "incident", in.Key, auth.OutcomeSuccess, map[string]string{"root_causes": fmt.Sprint(len(r.RootCauses))}); err != nil {
		return Incident{}, err
	}
	return s.present(ctx, u, in), nil
}

// Classify suggests a category for a root-cause text.
func (s *Service) Classify(ctx context.Context, u *auth.User, text string) (Suggestion, error) {
	if !auth.Can(u, auth.EditIncident, auth.Resource{}) {
		return Suggestion{}, errs.E(errs.Forbidden, "your role may not classify root causes")
	}
	var f errs.Fields
	f.Text("text", text, 20000, true)
	if err := f.Err(); err != nil {
		return Suggestion{}, err
	}
	return s.classify.Classify(text), nil
}

// ClassifierReport is GET /rca/classifier.
type ClassifierReport struct {
	ClassifierStats
	// Agreement is the share of stored root causes whose human category
	// equals the suggestion made when they were saved.
	Agreement *float64 `json:"agreement"`
	Compared  int      `json:"compared"`
}

// ClassifierStats reports what the classifier has learnt and how well it does.
func (s *Service) ClassifierStats(ctx context.Context, u *auth.User) (ClassifierReport, error) {
	if !auth.Can(u, auth.EditIncident, auth.Resource{}) && !auth.Can(u, auth.ReadReports, auth.Resource{}) {
		return ClassifierReport{}, errs.E(errs.Forbidden, "your role may not read classifier statistics")
	}
	all, err := s.store.FindIncidents(ctx, time.Time{}, time.Time{})
	if err != nil {
		return ClassifierReport{}, err
	}
	var ex []Labeled
	agree, compared := 0, 0
	for _, in := range all {
		for _, rc := range in.RCA.RootCauses {
			if !rc.Category.Valid() {
				continue
			}
			ex = append(ex, Labeled{Text: rc.Description, Category: rc.Category})
			if rc.SuggestedCategory.Valid() {
				compared++
				if rc.SuggestedCategory == rc.Category {
					agree++
				}
			}
		}
	}
	rep := ClassifierReport{ClassifierStats: s.classify.Stats(ex, 5), Compared: compared}
	if compared > 0 {
		a := float64(agree) / float64(compared)
		rep.Agreement = &a
	}
	return rep, nil
}
