// Package indexsource turns cases, incidents, published postmortems, QA
// decisions and risks into search documents: the search.Source the index feed reads. It is the
// only place that knows both the domain types and the index's.
package indexsource

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/rca/risk"
	"casefile.dev/casefile/search"
)

// Source reads documents from the stores.
type Source struct {
	db      *store.DB
	cases   *cases.MongoStore
	rca     *rca.MongoStore
	quality *quality.Store
	risks   *risk.MongoStore
}

var _ search.Source = (*Source)(nil)

// New returns the source over db.
func New(db *store.DB, c *cases.MongoStore, r *rca.MongoStore, q *quality.Store, rs *risk.MongoStore) *Source {
	return &Source{db: db, cases: c, rca: r, quality: q, risks: rs}
}

// Head is the newest write stamp: every domain write takes one from the
// "feed" counter.
func (s *Source) Head(ctx context.Context) (int64, error) { return s.db.CurrentSeq(ctx, "feed") }

// Changes merges the collections' writes since after, in seq order.
func (s *Source) Changes(ctx context.Context, after int64, limit int) ([]search.Change, error) {
	tax, _, err := s.cases.Taxonomy(ctx)
	if err != nil {
		return nil, err
	}
	var out []search.Change
	cs, err := s.cases.CasesSince(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		ch, err := s.caseChange(ctx, &cs[i], tax)
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	incs, err := s.rca.IncidentsSince(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	for i := range incs {
		out = append(out, incidentChange(&incs[i]))
		// A published postmortem carries its incident's root-cause
		// categories, so it follows the incident's changes.
		p, err := s.rca.Postmortem(ctx, incs[i].ID)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ch, err := s.postmortemChange(ctx, &p)
		if err != nil {
			return nil, err
		}
		ch.Seq = incs[i].Seq
		out = append(out, ch)
	}
	pms, err := s.rca.PostmortemsSince(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	for i := range pms {
		ch, err := s.postmortemChange(ctx, &pms[i])
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	items, err := s.quality.ItemsSince(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	for i := range items {
		out = append(out, decisionChange(&items[i]))
	}
	rs, err := s.risks.RisksSince(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		out = append(out, riskChange(&rs[i]))
	}
	slices.SortFunc(out, func(a, b search.Change) int { return cmp.Compare(a.Seq, b.Seq) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// scanWorkers is how many documents Scan converts at once: converting a
// case reads its timeline and a postmortem its revision and incident, one
// store round trip each, which parallel readers overlap.
const scanWorkers = 6

// Scan hands every document that belongs in the index to fn once, in no
// particular order: one pass over each collection, for a rebuild. (Paging
// through Changes would scan each collection once per page on the
// embedded store, which pushes down only _id lookups: quadratic in the
// size of the store.) fn is called from one goroutine at a time.
func (s *Source) Scan(ctx context.Context, fn func(search.Change) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	tax, _, err := s.cases.Taxonomy(ctx)
	if err != nil {
		return err
	}
	jobs := make(chan func() (search.Change, error), 4*scanWorkers)
	results := make(chan search.Change, 4*scanWorkers)
	var workers sync.WaitGroup
	for range scanWorkers {
		workers.Go(func() {
			for job := range jobs {
				ch, err := job()
				if err != nil {
					cancel(err)
					continue
				}
				select {
				case results <- ch:
				case <-ctx.Done():
				}
			}
		})
	}
	consumed := make(chan error, 1)
	go func() {
		var err error
		for ch := range results {
			if err == nil && !ch.Deleted {
				if err = fn(ch); err != nil {
					cancel(err)
				}
			}
		}
		consumed <- err
	}()
	submit := func(job func() (search.Change, error)) error {
		select {
		case jobs <- job:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	produce := func() error {
		if err := s.cases.EachCase(ctx, func(c *cases.Case) error {
			return submit(func() (search.Change, error) { return s.caseChange(ctx, c, tax) })
		}); err != nil {
			return err
		}
		if err := s.rca.EachIncident(ctx, func(in *rca.Incident) error {
			ch := incidentChange(in)
			return submit(func() (search.Change, error) { return ch, nil })
		}); err != nil {
			return err
		}
		if err := s.rca.EachPostmortem(ctx, func(p *rca.Postmortem) error {
			return submit(func() (search.Change, error) { return s.postmortemChange(ctx, p) })
		}); err != nil {
			return err
		}
		if err := s.quality.EachItem(ctx, func(it *quality.Item) error {
			ch := decisionChange(it)
			return submit(func() (search.Change, error) { return ch, nil })
		}); err != nil {
			return err
		}
		return s.risks.EachRisk(ctx, func(r *risk.Risk) error {
			ch := riskChange(r)
			return submit(func() (search.Change, error) { return ch, nil })
		})
	}
	perr := produce()
	close(jobs)
	workers.Wait()
	close(results)
	cerr := <-consumed
	if perr != nil {
		return perr
	}
	if cerr != nil {
		return cerr
	}
	return context.Cause(ctx)
}

// Document reads one document's current state.
func (s *Source) Document(ctx context.Context, typ, id string) (search.Change, error) {
	gone := search.Change{Type: typ, ID: id, Deleted: true}
	switch typ {
	case search.TypeCase:
		c, err := s.cases.Case(ctx, id)
		if errs.Is(err, errs.NotFound) {
			return gone, nil
		}
		if err != nil {
			return search.Change{}, err
		}
		tax, _, err := s.cases.Taxonomy(ctx)
		if err != nil {
			return search.Change{}, err
		}
		return s.caseChange(ctx, &c, tax)
	case search.TypeIncident:
		in, err := s.rca.Incident(ctx, id)
		if errs.Is(err, errs.NotFound) {
			return gone, nil
		}
		if err != nil {
			return search.Change{}, err
		}
		return incidentChange(&in), nil
	case search.TypePostmortem:
		p, err := s.rca.Postmortem(ctx, id)
		if errs.Is(err, errs.NotFound) {
			return gone, nil
		}
		if err != nil {
			return search.Change{}, err
		}
		return s.postmortemChange(ctx, &p)
	case search.TypeDecision:
		it, err := s.quality.Item(ctx, id)
		if errs.Is(err, errs.NotFound) {
			return gone, nil
		}
		if err != nil {
			return search.Change{}, err
		}
		return decisionChange(&it), nil
	case search.TypeRisk:
		r, err := s.risks.Risk(ctx, id)
		if errs.Is(err, errs.NotFound) {
			return gone, nil
		}
		if err != nil {
			return search.Change{}, err
		}
		return riskChange(&r), nil
	}
	return search.Change{}, fmt.Errorf("indexsource: unknown type %q", typ)
}

// CaseChange is the search document of c, a case as stored: what the
// cases service hands over after a write, so that indexing it does not
// read it back.
func (s *Source) CaseChange(ctx context.Context, c *cases.Case) (search.Change, error) {
	tax, _, err := s.cases.Taxonomy(ctx)
	if err != nil {
		return search.Change{}, err
	}
	return s.caseChange(ctx, c, tax)
}

func (s *Source) caseChange(ctx context.Context, c *cases.Case, tax cases.Taxonomy) (search.Change, error) {
	var notes []string
	// Entry 0 is the creation (cases.Case.TimelineCount), never a note:
	// a case with nothing else on its timeline, as every new one, costs
	// no read.
	if c.TimelineCount > 1 {
		tl, err := s.cases.Timeline(ctx, c.ID, 1, c.TimelineCount)
		if err != nil {
			return search.Change{}, err
		}
		for _, e := range tl {
			if e.Kind == cases.EventNote {
				notes = append(notes, e.Text)
			}
		}
	}
	var evidence []string
	for _, e := range c.Evidence {
		evidence = append(evidence, strings.TrimSpace(e.Description+" "+e.FlaggedReason+" "+e.Ref))
	}
	var behaviors []string
	for _, b := range c.Behaviors {
		behaviors = append(behaviors, b.Text)
	}
	d := search.Doc{
		Key: c.Key, Title: c.Title, Summary: c.Summary,
		Body:     joinNonEmpty(c.Findings, c.ProposedResponse, c.MitigationPlan, strings.Join(behaviors, "\n"), c.Actor.Handle, c.Actor.DisplayName),
		Notes:    strings.Join(notes, "\n"),
		Evidence: strings.Join(evidence, "\n"),
		Status:   string(c.Status), Severity: string(c.Severity), Gravity: float64(5 - c.Severity.Rank()),
		PolicyAreas: c.PolicyAreas, Tags: c.Tags, Team: c.Team, Vendor: c.Vendor, Assignee: c.Assignee,
		ActorID: c.Actor.ActorID, SourceKind: c.SourceKind, Restricted: c.Restricted,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Month: c.CreatedAt.UTC().Format("2006-01"),
	}
	if slices.ContainsFunc(c.Enforcements, func(e cases.Enforcement) bool { return e.Status == cases.Proposed }) {
		d.Approval = search.ApprovalPending
	}
	marks := c.Marks(tax)
	d.Breached = marks.Breached
	if !marks.Due.IsZero() {
		d.Due, d.AtRisk = &marks.Due, &marks.AtRisk
	}
	return search.Change{Type: search.TypeCase, ID: c.ID, Seq: c.Seq, Doc: d}, nil
}

var incidentGravity = map[rca.Severity]float64{"sev0": 5, "sev1": 4, "sev2": 3, "sev3": 2}

func incidentChange(in *rca.Incident) search.Change {
	var causes, cats, subs []string
	for _, rc := range in.RCA.RootCauses {
		causes = append(causes, joinNonEmpty(rc.Description, strings.Join(rc.FiveWhys, "\n")))
		cats = append(cats, string(rc.Category))
		subs = append(subs, string(rc.Category)+"/"+rc.Subcategory)
	}
	var gaps []string
	for _, g := range in.RCA.MitigationGaps {
		gaps = append(gaps, g.Mitigation+": "+g.Why)
	}
	var items []string
	for _, a := range in.ActionItems {
		items = append(items, a.Title)
	}
	d := search.Doc{
		Key: in.Key, Title: in.Title, Summary: in.Impact.Text,
		Body:       joinNonEmpty(in.RCA.ProblemStatement, in.Detection, strings.Join(in.RCA.ContributingFactors, "\n"), strings.Join(gaps, "\n"), strings.Join(items, "\n")),
		RootCauses: strings.Join(causes, "\n"),
		Status:     string(in.Status), Severity: string(in.Severity), Gravity: incidentGravity[in.Severity],
		RootCauseCategories: dedupe(cats), Subcategories: dedupe(subs),
		CreatedAt: in.StartedAt, UpdatedAt: in.UpdatedAt, Month: in.StartedAt.UTC().Format("2006-01"),
	}
	return search.Change{Type: search.TypeIncident, ID: in.ID, Seq: in.Seq, Doc: d, Children: incidentFacts(in, d)}
}

// incidentFacts are the report documents of an incident: one per root
// cause, action item and mitigation gap, dated by the incident's start.
func incidentFacts(in *rca.Incident, parent search.Doc) []search.Doc {
	base := search.Doc{Key: in.Key, Severity: parent.Severity, Gravity: parent.Gravity, Status: parent.Status,
		CreatedAt: parent.CreatedAt, UpdatedAt: parent.UpdatedAt, Month: parent.Month}
	child := func(typ, kind string, n int) search.Doc {
		d := base
		// Zero-padded so that the index's id order is the incident's order.
		d.Type, d.ID = typ, fmt.Sprintf("%s/%s/%04d", in.ID, kind, n)
		return d
	}
	fixed := fixedAt(in)
	var out []search.Doc
	seen := map[string]bool{}
	for i, rc := range in.RCA.RootCauses {
		d := child(search.TypeRootCause, "rc", i)
		sub := string(rc.Category) + "/" + rc.Subcategory
		d.RootCauses, d.RootCauseCategories, d.Subcategories = rc.Description, []string{string(rc.Category)}, []string{sub}
		d.Vendor, d.FixedAt, d.First = rc.Vendor, fixed, !seen[sub]
		seen[sub] = true
		out = append(out, d)
	}
	for i, a := range in.ActionItems {
		d := child(search.TypeActionItem, "item", i)
		d.Title, d.Status, d.Due, d.Assignee = a.Title, string(a.Status), a.Due, a.Owner
		out = append(out, d)
	}
	for i, g := range in.RCA.MitigationGaps {
		d := child(search.TypeMitigationGap, "gap", i)
		d.Title, d.Summary = g.Mitigation, g.Why
		out = append(out, d)
	}
	return out
}

// fixedAt is when an incident's action items were all closed: the last
// done time, or its start when every item was closed without being done
// (won't do). It is nil while an item is open or when there are none.
func fixedAt(in *rca.Incident) *time.Time {
	if len(in.ActionItems) == 0 {
		return nil
	}
	at := in.StartedAt
	for _, a := range in.ActionItems {
		if !a.Closed() {
			return nil
		}
		if a.DoneAt != nil && a.DoneAt.After(at) {
			at = *a.DoneAt
		}
	}
	return &at
}

// postmortemChange indexes the last published revision; a postmortem never
// published is not searchable (drafts are read on their incident).
func (s *Source) postmortemChange(ctx context.Context, p *rca.Postmortem) (search.Change, error) {
	if p.PublishedRevision == 0 {
		return search.Change{Type: search.TypePostmortem, ID: p.ID, Seq: p.Seq, Deleted: true}, nil
	}
	r, err := s.rca.Revision(ctx, p.ID, p.PublishedRevision)
	if err != nil {
		return search.Change{}, err
	}
	c := r.Content
	var tl []string
	for _, t := range c.Timeline {
		tl = append(tl, t.Event)
	}
	// The postmortem's id is its incident's; the incident's root-cause
	// categories let readers filter postmortems by category.
	var cats, subs []string
	in, err := s.rca.Incident(ctx, p.ID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return search.Change{}, err
	}
	for _, rc := range in.RCA.RootCauses {
		cats = append(cats, string(rc.Category))
		subs = append(subs, string(rc.Category)+"/"+rc.Subcategory)
	}
	d := search.Doc{
		Key: r.IncidentKey, Title: r.Title, Summary: c.Summary, RootCauseCategories: dedupe(cats), Subcategories: dedupe(subs),
		Body:   joinNonEmpty(c.Impact, c.Detection, c.Response, c.WhatWentWell, c.WhatWentWrong, c.WhereWeGotLucky, c.Lessons, c.Body, strings.Join(tl, "\n")),
		Status: "published", Severity: string(r.Severity), Gravity: incidentGravity[r.Severity], Published: true,
		CreatedAt: r.PublishedAt, UpdatedAt: r.PublishedAt, Month: r.PublishedAt.UTC().Format("2006-01"),
	}
	return search.Change{Type: search.TypePostmortem, ID: p.ID, Seq: p.Seq, Doc: d}, nil
}

// decisionChange indexes a decision for the QA scorecards, and its review
// (a searchable document of its own) once there is one. The review names
// the decider only when the decision is not blind; its decider field,
// never returned with hits, decides who may read it.
func decisionChange(it *quality.Item) search.Change {
	tags := []string{it.Kind, string(it.Action)}
	if it.ReversedAt != nil {
		tags = append(tags, search.TagReversed)
	}
	d := search.Doc{Key: it.CaseKey, Status: it.Status(), Team: it.Team, Vendor: it.Vendor, Assignee: it.Decider, Decider: it.Decider,
		PolicyAreas: it.PolicyAreas, Restricted: it.Restricted, Tags: tags,
		CreatedAt: it.DecidedAt, UpdatedAt: it.DecidedAt, Month: it.DecidedAt.UTC().Format("2006-01")}
	c := search.Change{Type: search.TypeDecision, ID: it.ID, Seq: it.Seq, Doc: d}
	if r := it.Review; r != nil {
		d.ErrorType = r.ErrorType
		c.Doc = d
		review := search.Doc{Type: search.TypeReview, ID: it.ID + "/review", Key: it.CaseKey,
			Title: "QA review of " + it.CaseKey, Summary: r.Feedback, Status: r.Verdict, Severity: r.Severity, ErrorType: r.ErrorType,
			Team: it.Team, Vendor: it.Vendor, Decider: it.Decider, PolicyAreas: it.PolicyAreas, Restricted: it.Restricted,
			CreatedAt: r.At, UpdatedAt: r.At, Month: r.At.UTC().Format("2006-01")}
		if !it.Blind {
			review.Assignee = it.Decider
		}
		c.Children = []search.Doc{review}
	}
	return c
}

// riskChange indexes a risk: its words, its status, policy areas, owner
// (as assignee) and discovery (as a tag). Linked case keys stay out: a risk
// is readable by roles that may not read those cases.
func riskChange(r *risk.Risk) search.Change {
	var changes []string
	for _, c := range r.Changes {
		changes = append(changes, c.Title)
	}
	d := search.Doc{Key: r.Key, Title: r.Title, Summary: r.Description, Body: strings.Join(changes, "\n"),
		Status: string(r.Status), PolicyAreas: r.PolicyAreas, Assignee: r.Owner, Tags: []string{string(r.Discovery)},
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Month: r.CreatedAt.UTC().Format("2006-01")}
	return search.Change{Type: search.TypeRisk, ID: r.ID, Seq: r.Seq, Doc: d}
}

func joinNonEmpty(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, "\n\n")
}

func dedupe(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
