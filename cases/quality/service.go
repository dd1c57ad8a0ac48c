package quality

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/search"
)

// Auditor records audit events; auth.Audit implements it.
type Auditor interface {
	Record(ctx context.Context, e auth.AuditEvent) error
}

// Directory finds users (for the decider's account age and calibration
// assignees); auth.Service implements it.
type Directory interface {
	Lookup(ctx context.Context, username string) (auth.User, error)
}

// Tallier counts in the search index (search.Searcher).
type Tallier interface {
	Tally(ctx context.Context, u *auth.User, t search.Tally) (search.Tallied, error)
}

// Service runs QA.
type Service struct {
	store *Store
	audit Auditor
	cases *cases.Service
	users Directory
	tally Tallier
	now   func() time.Time
	log   *slog.Logger
	// changed is told of every stored write of an item ("qa_item").
	changed func(ctx context.Context, kind, id string)
	// alerted is told of every quality alert raised.
	alerted func(ctx context.Context, a Alert)
}

// NewService wires the service; now is the clock.
func NewService(st *Store, a Auditor, c *cases.Service, users Directory, t Tallier, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, audit: a, cases: c, users: users, tally: t, now: now, log: log}
}

// OnChange registers fn to be called after every write of a QA item, with
// kind "decision" (the search index's document type).
func (s *Service) OnChange(fn func(ctx context.Context, kind, id string)) { s.changed = fn }

// OnAlert registers fn to be called when a quality alert is raised (the
// quality.alert event).
func (s *Service) OnAlert(fn func(ctx context.Context, a Alert)) { s.alerted = fn }

// Init creates the collections and the first rules (with a fresh seed).
func (s *Service) Init(ctx context.Context) error {
	if err := s.store.Init(ctx); err != nil {
		return err
	}
	if _, ok, err := s.store.Rules(ctx); err != nil || ok {
		return err
	}
	seed := make([]byte, 16)
	_, _ = rand.Read(seed)
	r := DefaultRules(hex.EncodeToString(seed))
	r.Version = 1
	if err := s.store.InsertRules(ctx, r); err != nil && !errs.Is(err, errs.Conflict) {
		return err
	}
	return nil
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func (s *Service) record(ctx context.Context, u *auth.User, m auth.Meta, action, id, outcome string, detail map[string]string) error {
	return s.audit.Record(ctx, auth.AuditEvent{User: u.Username, Role: u.Role, Action: action, Entity: auth.Entity{Type: "qa_item", ID: id},
		IP: m.IP, RequestID: m.RequestID, Outcome: outcome, Detail: detail})
}

func (s *Service) notify(ctx context.Context, id string) {
	if s.changed != nil {
		s.changed(ctx, search.TypeDecision, id)
	}
}

// Rules returns the sampling rules (leads and admins).
func (s *Service) Rules(ctx context.Context, u *auth.User) (Rules, error) {
	if !auth.Can(u, auth.ReviewQuality, auth.Resource{}) {
		return Rules{}, errs.E(errs.Forbidden, "your role may not configure QA")
	}
	r, _, err := s.store.Rules(ctx)
	return r, err
}

// PutRules replaces the rules at version ifMatch.
func (s *Service) PutRules(ctx context.Context, u *auth.User, ifMatch int64, r Rules, m auth.Meta) (Rules, error) {
	if !auth.Can(u, auth.ReviewQuality, auth.Resource{}) {
		_ = s.audit.Record(ctx, auth.AuditEvent{User: u.Username, Role: u.Role, Action: "qa.rules.put", Entity: auth.Entity{Type: "qa_rules", ID: rulesID},
			IP: m.IP, RequestID: m.RequestID, Outcome: auth.OutcomeDenied})
		return Rules{}, errs.E(errs.Forbidden, "your role may not configure QA")
	}
	if r.Rules == nil {
		r.Rules = []Rule{}
	}
	for i := range r.Rules {
		if r.Rules[i].AlwaysActions == nil {
			r.Rules[i].AlwaysActions = []cases.Action{}
		}
	}
	if err := r.validate(); err != nil {
		return Rules{}, err
	}
	r.Version = ifMatch + 1
	if err := s.store.ReplaceRules(ctx, r, ifMatch); err != nil {
		return Rules{}, err
	}
	return r, s.audit.Record(ctx, auth.AuditEvent{User: u.Username, Role: u.Role, Action: "qa.rules.put", Entity: auth.Entity{Type: "qa_rules", ID: rulesID},
		IP: m.IP, RequestID: m.RequestID, Outcome: auth.OutcomeSuccess})
}

// Record stores a decision and draws its sample. It is the cases
// service's OnDecision hook, so it runs in the request that decided;
// recording the same decision again changes nothing.
func (s *Service) Record(ctx context.Context, d cases.Decided) error {
	rules, _, err := s.store.Rules(ctx)
	if err != nil {
		return err
	}
	var since time.Time
	if u, err := s.users.Lookup(ctx, d.Decider); err == nil {
		since = u.CreatedAt
	}
	seq, err := s.store.nextSeq(ctx)
	if err != nil {
		return err
	}
	it := Item{ID: d.ID, Kind: d.Kind, CaseID: d.CaseID, CaseKey: d.CaseKey, Decider: d.Decider, Team: d.Team, Vendor: d.Vendor,
		Restricted: d.Restricted, PolicyAreas: d.PolicyAreas, Action: d.Action, EnforcementID: d.EnforcementID, Verdict: d.Verdict,
		DecidedAt: d.At.UTC(), Draw: rules.Sample(d, since), Version: 1, Seq: seq}
	if d.ReversedAt != nil {
		at := d.ReversedAt.UTC()
		it.ReversedAt = &at
	}
	if it.PolicyAreas == nil {
		it.PolicyAreas = []string{}
	}
	err = s.store.InsertItem(ctx, &it)
	if errs.Is(err, errs.Conflict) {
		return s.markReversed(ctx, d)
	}
	if err != nil {
		return err
	}
	s.notify(ctx, it.ID)
	return nil
}

// RecordHook adapts Record to cases.Service.OnDecision: a failure is
// logged (the decision itself is already stored).
func (s *Service) RecordHook(ctx context.Context, d cases.Decided) {
	if err := s.Record(ctx, d); err != nil {
		s.log.Error("recording a decision for QA failed", "decision", d.ID, "err", err)
	}
}

// QueueQuery filters the QA queue.
type QueueQuery struct {
	Status     string // pending (default), reviewed, all
	Vendor     string
	Team       string
	PolicyArea string
	Limit      int
	Offset     int
}

// Queue lists sampled decisions for reviewers (leads and admins), newest
// first; blind items do not name their decider.
func (s *Service) Queue(ctx context.Context, u *auth.User, q QueueQuery) ([]Item, int64, error) {
	if !auth.Can(u, auth.ReviewQuality, auth.Resource{}) {
		return nil, 0, errs.E(errs.Forbidden, "your role may not review decisions")
	}
	f := store.Filter{{Key: "sampled", Value: true}}
	switch q.Status {
	case "", "pending":
		f = append(f, bson.E{Key: "review", Value: bson.D{{Key: "$exists", Value: false}}})
	case "reviewed":
		f = append(f, bson.E{Key: "review", Value: bson.D{{Key: "$exists", Value: true}}})
	case "all":
	default:
		return nil, 0, &errs.Error{Code: errs.Invalid, Message: "unknown status", Fields: []errs.FieldError{{Field: "status", Message: "must be pending, reviewed or all"}}}
	}
	f.Eq("vendor", q.Vendor)
	f.Eq("team", q.Team)
	f.Eq("policy_areas", q.PolicyArea)
	items, total, err := s.store.FindItems(ctx, f, q.Limit, q.Offset)
	if err != nil {
		return nil, 0, err
	}
	for i := range items {
		items[i] = present(u, items[i])
	}
	return items, total, nil
}

// present hides what u may not see of an item: the decider of a blind
// item from reviewers (the decider themself still sees it is theirs).
func present(u *auth.User, it Item) Item {
	if it.Blind && it.Decider != u.Username {
		it.Decider = ""
	}
	return it
}

// Packet is what a reviewer judges: the decision and the case's facts,
// with every name removed when the item is blind.
type Packet struct {
	Item     Item               `json:"item"`
	Title    string             `json:"title"`
	Summary  string             `json:"summary"`
	Findings string             `json:"findings,omitempty"`
	Verdict  cases.Verdict      `json:"case_verdict,omitempty"`
	Evidence []cases.Evidence   `json:"evidence"`
	Behavior []cases.Behavior   `json:"behaviors"`
	Enforce  *cases.Enforcement `json:"enforcement,omitempty"`
}

// Get returns a sampled decision's review packet (reviewers only).
func (s *Service) Get(ctx context.Context, u *auth.User, id string, m auth.Meta) (Packet, error) {
	if !auth.Can(u, auth.ReviewQuality, auth.Resource{}) {
		return Packet{}, errs.E(errs.Forbidden, "your role may not review decisions")
	}
	it, err := s.store.Item(ctx, id)
	if err != nil {
		return Packet{}, err
	}
	if !it.Sampled {
		return Packet{}, errs.E(errs.NotFound, "decision not sampled for QA")
	}
	c, err := s.cases.Get(ctx, u, it.CaseID, m)
	if err != nil {
		return Packet{}, err
	}
	p := Packet{Item: present(u, it), Title: c.Title, Summary: c.Summary, Findings: c.Findings, Verdict: c.Verdict,
		Evidence: c.Evidence, Behavior: c.Behaviors}
	if i := slices.IndexFunc(c.Enforcements, func(e cases.Enforcement) bool { return e.ID == it.EnforcementID }); i >= 0 {
		e := c.Enforcements[i]
		p.Enforce = &e
	}
	if it.Blind {
		for i := range p.Evidence {
			p.Evidence[i].AddedBy = ""
		}
		if p.Enforce != nil {
			p.Enforce.ProposedBy, p.Enforce.DecidedBy, p.Enforce.AppliedBy, p.Enforce.ReversedBy = "", "", "", ""
		}
	}
	return p, nil
}

// Review records a reviewer's verdict on a sampled decision. Nobody
// reviews their own decision, and a decision is reviewed once.
func (s *Service) Review(ctx context.Context, u *auth.User, in NewReview, m auth.Meta) (Item, error) {
	if !auth.Can(u, auth.ReviewQuality, auth.Resource{}) {
		_ = s.record(ctx, u, m, "qa.review", in.DecisionID, auth.OutcomeDenied, nil)
		return Item{}, errs.E(errs.Forbidden, "your role may not review decisions")
	}
	if err := in.validate(); err != nil {
		return Item{}, err
	}
	it, err := s.store.Item(ctx, in.DecisionID)
	if err != nil {
		return Item{}, err
	}
	switch {
	case !it.Sampled:
		return Item{}, errs.E(errs.NotFound, "decision not sampled for QA")
	case it.Decider == u.Username:
		_ = s.record(ctx, u, m, "qa.review", it.ID, auth.OutcomeDenied, nil)
		return Item{}, errs.E(errs.Forbidden, "nobody reviews their own decision")
	case it.Review != nil:
		return Item{}, errs.E(errs.Conflict, "this decision was already reviewed")
	}
	expected := it.Version
	it.Review = &Review{Reviewer: u.Username, Verdict: in.Verdict, ErrorType: in.ErrorType, Severity: in.Severity, Feedback: in.Feedback, At: s.clock()}
	if err := s.save(ctx, &it, expected); err != nil {
		return Item{}, err
	}
	if err := s.record(ctx, u, m, "qa.review", it.ID, auth.OutcomeSuccess, map[string]string{"verdict": in.Verdict, "error_type": in.ErrorType}); err != nil {
		return Item{}, err
	}
	if err := s.checkDrop(ctx, &it); err != nil {
		s.log.Error("checking for a quality drop failed", "decision", it.ID, "err", err)
	}
	return present(u, it), nil
}

// markReversed records on a known decision that its enforcement was
// reversed; it is idempotent.
func (s *Service) markReversed(ctx context.Context, d cases.Decided) error {
	if d.ReversedAt == nil {
		return nil
	}
	for range 5 {
		it, err := s.store.Item(ctx, d.ID)
		if err != nil || it.ReversedAt != nil {
			return err
		}
		at := d.ReversedAt.UTC()
		it.ReversedAt = &at
		err = s.save(ctx, &it, it.Version)
		if !errs.Is(err, errs.PreconditionFailed) {
			return err
		}
	}
	return errs.E(errs.Conflict, "decision %s is being changed by many requests at once", d.ID)
}

func (s *Service) save(ctx context.Context, it *Item, expected int64) error {
	seq, err := s.store.nextSeq(ctx)
	if err != nil {
		return err
	}
	it.Version, it.Seq = expected+1, seq
	if err := s.store.ReplaceItem(ctx, it, expected); err != nil {
		return err
	}
	s.notify(ctx, it.ID)
	return nil
}

// NewCorrection is the input of a correction: reverse the enforcement
// reviewed, or propose another one on the case.
type NewCorrection struct {
	Kind     string
	Reason   string
	Proposal cases.Proposal
}

// Correct opens a correction of a disagreed decision through the normal
// enforcement flow, as the reviewer: history is never edited; the
// reversal or new proposal is its own step on the case, audited there, and
// the item records which enforcement it led to.
func (s *Service) Correct(ctx context.Context, u *auth.User, id string, in NewCorrection, m auth.Meta) (Item, error) {
	if !auth.Can(u, auth.ReviewQuality, auth.Resource{}) {
		return Item{}, errs.E(errs.Forbidden, "your role may not correct decisions")
	}
	var f errs.Fields
	if in.Kind != CorrectReverse && in.Kind != CorrectPropose {
		f.Add("kind", "must be reverse or propose")
	}
	f.Text("reason", in.Reason, 4000, true)
	if err := f.Err(); err != nil {
		return Item{}, err
	}
	it, err := s.store.Item(ctx, id)
	if err != nil {
		return Item{}, err
	}
	switch {
	case it.Review == nil || it.Review.Verdict != Disagree:
		return Item{}, errs.E(errs.Conflict, "only a reviewed disagreement can be corrected")
	case it.Correction != nil:
		return Item{}, errs.E(errs.Conflict, "this decision was already corrected (enforcement %s)", it.Correction.EnforcementID)
	case in.Kind == CorrectReverse && it.EnforcementID == "":
		return Item{}, &errs.Error{Code: errs.Invalid, Message: "a closed case has no enforcement to reverse",
			Fields: []errs.FieldError{{Field: "kind", Message: "use propose for a closure"}}}
	}
	var e cases.Enforcement
	if in.Kind == CorrectReverse {
		e, err = s.cases.Decide(ctx, u, it.CaseID, it.EnforcementID, cases.Reverse, in.Reason, m)
	} else {
		p := in.Proposal
		p.Reason = in.Reason
		e, err = s.cases.Propose(ctx, u, it.CaseID, p, m)
	}
	if err != nil {
		return Item{}, err
	}
	// The enforcement step is stored; if recording it here fails, a retry
	// finds the enforcement already reversed (409) and the case's timeline
	// still shows the correction.
	for range 3 {
		expected := it.Version
		it.Correction = &Correction{Kind: in.Kind, EnforcementID: e.ID, By: u.Username, At: s.clock()}
		if err = s.save(ctx, &it, expected); !errs.Is(err, errs.PreconditionFailed) {
			break
		}
		if it, err = s.store.Item(ctx, id); err != nil {
			return Item{}, err
		}
	}
	if err != nil {
		return Item{}, err
	}
	return present(u, it), s.record(ctx, u, m, "qa.correction", it.ID, auth.OutcomeSuccess, map[string]string{"kind": in.Kind, "enforcement": e.ID})
}

// Feedback lists the reviewed decisions u made: the decider sees the
// reviews of their own decisions, and nobody else's.
func (s *Service) Feedback(ctx context.Context, u *auth.User, limit, offset int) ([]Item, int64, error) {
	f := store.Filter{{Key: "decider", Value: u.Username}, {Key: "review", Value: bson.D{{Key: "$exists", Value: true}}}}
	items, total, err := s.store.FindItems(ctx, f, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	for i := range items {
		items[i] = forDecider(items[i])
	}
	return items, total, nil
}

// forDecider hides the reviewer from the decider: feedback is about the
// decision, not a conversation between two people.
func forDecider(it Item) Item {
	if it.Review != nil {
		r := *it.Review
		r.Reviewer = ""
		it.Review = &r
	}
	return it
}

// CaseFeedback is the QA on one case u may read: reviewers see every
// sampled decision; anyone else sees only the reviews of decisions they
// made themselves.
func (s *Service) CaseFeedback(ctx context.Context, u *auth.User, caseID string, m auth.Meta) ([]Item, error) {
	c, err := s.cases.Get(ctx, u, caseID, m)
	if err != nil {
		return nil, err
	}
	f := store.Filter{{Key: "case_id", Value: c.ID}, {Key: "sampled", Value: true}}
	reviewer := auth.Can(u, auth.ReviewQuality, auth.Resource{})
	if !reviewer {
		f = append(f, bson.E{Key: "decider", Value: u.Username}, bson.E{Key: "review", Value: bson.D{{Key: "$exists", Value: true}}})
	}
	items, _, err := s.store.FindItems(ctx, f, 1000, 0)
	if err != nil {
		return nil, err
	}
	for i := range items {
		if reviewer {
			items[i] = present(u, items[i])
		} else {
			items[i] = forDecider(items[i])
		}
	}
	return items, nil
}

var errNoTally = errors.New("quality: scorecards need the search index")
