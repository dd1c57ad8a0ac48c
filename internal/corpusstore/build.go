package corpusstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/search"
)

// chunk is documents from..to-1 as the store's documents, with seqs
// relative to the chunk (1…seqs) until stamp adds the reserved base.
type chunk struct {
	from, to int
	seqs     int

	actors       []*cases.Actor
	cases        []*cases.Case
	caseKeys     []any
	timelines    []any
	incidents    []*rca.Incident
	incidentKeys []any
	postmortems  []*rca.Postmortem
	revisions    []any
	// keyMax is the highest key number per key counter.
	keyMax []keyMark
}

type keyMark struct {
	counter string
	n       int64
}

// next is the next relative seq.
func (c *chunk) next() int64 {
	c.seqs++
	return int64(c.seqs)
}

// stamp turns relative seqs into the reserved ones, base+1 ….
func (c *chunk) stamp(base int64) {
	for _, a := range c.actors {
		a.Seq += base
	}
	for _, x := range c.cases {
		x.Seq += base
	}
	for _, x := range c.incidents {
		x.Seq += base
	}
	for _, x := range c.postmortems {
		x.Seq += base
	}
}

// builder maps corpus documents onto domain objects. It is used by one
// goroutine: it remembers which actors it has written.
type builder struct {
	gen    *corpus.Gen
	sla    map[cases.Severity]cases.SLATarget
	actors map[string]bool
}

func newBuilder(gen *corpus.Gen) *builder {
	return &builder{gen: gen, sla: cases.DefaultTaxonomy().SLA, actors: map[string]bool{}}
}

func (b *builder) build(from, to int) *chunk {
	c := &chunk{from: from, to: to}
	keys := map[string]int64{}
	for i := from; i < to; i++ {
		d := b.gen.Doc(i)
		// Choices the corpus leaves open, drawn per document so that
		// they do not depend on what else is loaded.
		r := rand.New(rand.NewPCG(uint64(i), 0xC0FFEE))
		switch d.Type {
		case search.TypeCase:
			b.addCase(c, i, &d, r)
		case search.TypeIncident:
			c.addIncident(i, &d, r)
		case search.TypePostmortem:
			c.addPostmortem(i, &d, r)
		default:
			panic("corpusstore: unknown corpus type " + d.Type)
		}
		counter, n := keyCounter(d.Key)
		keys[counter] = max(keys[counter], n)
	}
	for k, n := range keys {
		c.keyMax = append(c.keyMax, keyMark{counter: k, n: n})
	}
	sort.Slice(c.keyMax, func(i, j int) bool { return c.keyMax[i].counter < c.keyMax[j].counter })
	return c
}

// keyCounter is the counter that numbers key (CF-2025-17: case_key_2025,
// 17), as cases.MongoStore.NextCaseNumber and rca.MongoStore.NextIncidentNumber
// name them.
func keyCounter(key string) (string, int64) {
	parts := strings.Split(key, "-")
	if len(parts) != 3 {
		panic("corpusstore: unexpected corpus key " + key)
	}
	n, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		panic("corpusstore: unexpected corpus key " + key)
	}
	switch parts[0] {
	case "CF":
		return "case_key_" + parts[1], n
	case "INC":
		return "incident_key_" + parts[1], n
	}
	panic("corpusstore: unexpected corpus key " + key)
}

// Values the corpus does not carry, as the domain accepts them.
var (
	// sourceChannels are cases' channels by source kind.
	sourceChannels = map[string][]string{
		"proactive": {"automated_detection", "proactive_sweep", "risk_discovery"},
		"reactive":  {"user_report", "internal_escalation", "regulator", "press", "partner"},
	}
	evidenceKinds = []string{"video", "live", "comment", "profile", "listing", "review", "message", "other"}
	actorKinds    = []cases.ActorKind{"user", "creator", "merchant"}
)

func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func ptr[T any](v T) *T { return &v }

func (b *builder) addCase(c *chunk, i int, d *search.Doc, r *rand.Rand) {
	id := ID(i)
	created, updated := ms(d.CreatedAt), ms(d.UpdatedAt)
	creator := fmt.Sprintf("inv%02d", 1+r.IntN(40))
	author := d.Assignee
	if author == "" {
		author = creator
	}
	kind := actorKinds[actorNumber(d.ActorID)%len(actorKinds)]
	if !b.actors[d.ActorID] {
		b.actors[d.ActorID] = true
		// The services file the actor just before its first case.
		c.actors = append(c.actors, &cases.Actor{ActorID: d.ActorID, Kind: kind, Labels: []string{},
			History: []cases.ActorEnforcement{}, FirstSeen: created, UpdatedAt: created, Version: 1, Seq: c.next()})
	}
	channels := sourceChannels[d.SourceKind]
	x := &cases.Case{
		ID: id, Key: d.Key, Title: d.Title, Summary: d.Summary,
		Actor: cases.ActorRef{ActorID: d.ActorID, Kind: kind}, RelatedActors: []string{},
		PolicyAreas: slices.Clone(d.PolicyAreas), Severity: cases.Severity(d.Severity),
		SourceKind: d.SourceKind, SourceChannel: channels[r.IntN(len(channels))],
		Status: cases.Status(d.Status), Assignee: d.Assignee, Team: d.Team, Vendor: d.Vendor,
		// Child safety cases are always restricted (cases.Case.forcedRestriction).
		Restricted: d.Restricted || slices.Contains(d.PolicyAreas, "child_safety"),
		Evidence:   []cases.Evidence{}, Behaviors: []cases.Behavior{}, Findings: d.Body,
		Enforcements: []cases.Enforcement{}, LinkedCases: []string{}, LinkedIncidents: []string{},
		Tags: append([]string{}, d.Tags...), CreatedAt: created, UpdatedAt: updated, CreatedBy: creator,
	}

	// SLA clocks: stopped as the status implies; a stopped clock is late
	// exactly when the corpus says the case breached.
	target := b.sla[x.Severity]
	span := updated.Sub(created)
	st := slices.Index(cases.Statuses, x.Status)
	if st >= slices.Index(cases.Statuses, cases.StatusInvestigating) {
		x.TriagedAt = ptr(ms(created.Add(min(target.Triage.D()/2, span))))
	}
	if st >= slices.Index(cases.Statuses, cases.StatusActioned) {
		resolved := created.Add(min(target.Resolve.D()/2, span))
		if d.Breached {
			resolved = created.Add(target.Resolve.D() + time.Duration(1+r.IntN(48))*time.Hour)
		}
		x.ResolvedAt = ptr(ms(resolved))
		x.UpdatedAt = ms(maxTime(updated, resolved))
	}
	switch x.Status {
	case cases.StatusPendingReview, cases.StatusActioned:
		x.Verdict = cases.VerdictViolation
	case cases.StatusNoViolation:
		x.Verdict = []cases.Verdict{cases.VerdictNoViolation, cases.VerdictInsufficientEvidence}[r.IntN(2)]
	case cases.StatusClosed:
		x.Verdict = []cases.Verdict{cases.VerdictViolation, cases.VerdictNoViolation}[r.IntN(2)]
	}

	// The timeline: filed, then the evidence, then the notes, spread up
	// to the last update.
	var events []cases.TimelineEntry
	if strings.TrimSpace(d.Evidence) != "" {
		kind := evidenceKinds[r.IntN(len(evidenceKinds))]
		x.Evidence = append(x.Evidence, cases.Evidence{N: 1, Kind: kind, Description: d.Evidence, AddedBy: author})
		events = append(events, cases.TimelineEntry{Author: author, Kind: cases.EventEvidence,
			Text: fmt.Sprintf("evidence 1 added (%s)", kind), Detail: map[string]string{"n": "1"}})
	}
	sentences := sentencesOf(d.Notes)
	notes := min(len(sentences), 1+r.IntN(4))
	// No note may exceed the services' limit.
	for notes < len(sentences) && len(d.Notes)/max(notes, 1) > cases.MaxNoteLen/2 {
		notes++
	}
	for _, text := range group(sentences, notes) {
		if text != "" {
			events = append(events, cases.TimelineEntry{Author: author, Kind: cases.EventNote, Text: text})
		}
	}
	entries := make([]cases.TimelineEntry, 0, 1+len(events))
	entries = append(entries, cases.TimelineEntry{N: 0, At: created, Author: creator, Kind: cases.EventCreated, Text: "case filed"})
	for j, e := range events {
		e.N = j + 1
		e.At = ms(created.Add(span * time.Duration(j+1) / time.Duration(len(events))))
		if e.Kind == cases.EventEvidence {
			x.Evidence[0].AddedAt = e.At
		}
		entries = append(entries, e)
	}
	x.TimelineCount = len(entries)
	x.Version = int64(len(entries)) // one write per entry
	x.Seq = c.next()

	c.cases = append(c.cases, x)
	c.caseKeys = append(c.caseKeys, bson.D{{Key: "_id", Value: x.Key}, {Key: "case_id", Value: id}})
	// One bucket (cases' timelineBucket is 100 entries; a case has a few).
	c.timelines = append(c.timelines, bson.D{{Key: "_id", Value: id + "/0"}, {Key: "entries", Value: entries}})
}

// actorNumber is n of the corpus's "actor-<n>" (0 otherwise).
func actorNumber(id string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "actor-"))
	return max(n, 0)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func owner(r *rand.Rand) string { return fmt.Sprintf("lead%02d", 1+r.IntN(12)) }

func (c *chunk) addIncident(i int, d *search.Doc, r *rand.Rand) {
	id := ID(i)
	started, updated := ms(d.CreatedAt), ms(d.UpdatedAt)
	span := updated.Sub(started)
	detected := ms(started.Add(span / 10))
	who := owner(r)
	// Body: how it was detected (its first sentences), then the problem.
	sentences := sentencesOf(d.Body)
	var detection, problem string
	if len(sentences) >= 2 {
		k := max(1, len(sentences)/5)
		detection, problem = strings.Join(sentences[:k], " "), strings.Join(sentences[k:], " ")
	} else {
		problem = d.Body
	}
	rcs := []rca.RootCause{}
	descriptions := split(d.RootCauses, len(d.Subcategories))
	for j, s := range d.Subcategories {
		cat, sub, _ := strings.Cut(s, "/")
		rcs = append(rcs, rca.RootCause{Description: descriptions[j], Category: rca.Category(cat), Subcategory: sub})
	}
	in := &rca.Incident{
		ID: id, Key: d.Key, Kind: rca.KindIncident, Title: d.Title,
		Severity: rca.Severity(d.Severity), Status: rca.Status(d.Status),
		StartedAt: started, DetectedAt: &detected, Detection: detection,
		Impact: rca.Impact{Text: d.Summary, AffectedActors: int64(1 + r.IntN(5000)), ExposureCount: int64(r.IntN(500000)), Regions: []string{}},
		Owner:  who, LinkedCases: []string{},
		RCA: rca.RCA{ProblemStatement: problem, RootCauses: rcs, ContributingFactors: []string{},
			MitigationGaps: []rca.MitigationGap{}, UpdatedBy: who, UpdatedAt: &updated},
		ActionItems: []rca.ActionItem{}, CreatedAt: detected, CreatedBy: who, UpdatedAt: updated, Version: 2,
	}
	if in.Status == rca.Mitigated || in.Status == rca.Resolved {
		in.MitigatedAt = ptr(ms(started.Add(span / 2)))
		in.Version++
	}
	if in.Status == rca.Resolved {
		in.ResolvedAt = &updated
		in.Version++
	}
	in.Seq = c.next()
	c.incidents = append(c.incidents, in)
	c.incidentKeys = append(c.incidentKeys, bson.D{{Key: "_id", Value: in.Key}, {Key: "incident_id", Value: id}})
}

// postmortemSections are the Content fields a postmortem's body is
// spread over, in order.
func postmortemSections(c *rca.Content) []*string {
	return []*string{&c.Impact, &c.Detection, &c.Response, &c.WhatWentWell, &c.WhatWentWrong, &c.WhereWeGotLucky, &c.Lessons}
}

func (c *chunk) addPostmortem(i int, d *search.Doc, r *rand.Rand) {
	id := ID(i)
	published := ms(d.CreatedAt)
	resolved := published.Add(-time.Duration(24+r.IntN(4*24)) * time.Hour)
	started := resolved.Add(-time.Duration(1+r.IntN(72)) * time.Hour)
	span := resolved.Sub(started)
	detected, mitigated := ms(started.Add(span/10)), ms(started.Add(span/2))
	who := owner(r)
	// The incident it writes up: resolved, with nothing but its title.
	in := &rca.Incident{
		ID: id, Key: d.Key, Kind: rca.KindIncident, Title: d.Title,
		Severity: rca.Severity(d.Severity), Status: rca.Resolved,
		StartedAt: started, DetectedAt: &detected, MitigatedAt: &mitigated, ResolvedAt: &resolved,
		Impact: rca.Impact{Regions: []string{}}, Owner: who, LinkedCases: []string{},
		RCA:         rca.RCA{RootCauses: []rca.RootCause{}, ContributingFactors: []string{}, MitigationGaps: []rca.MitigationGap{}},
		ActionItems: []rca.ActionItem{}, CreatedAt: detected, CreatedBy: who, UpdatedAt: resolved, Version: 3,
		Seq: c.next(),
	}
	content := rca.Content{Summary: d.Summary, Timeline: []rca.TimelineItem{}}
	sections := postmortemSections(&content)
	for j, text := range group(sentencesOf(d.Body), len(sections)) {
		*sections[j] = text
	}
	author, approver := owner(r), fmt.Sprintf("approver%02d", 1+r.IntN(4))
	drafted := ms(resolved.Add(published.Sub(resolved) / 4))
	approved := ms(published.Add(-published.Sub(resolved) / 8))
	rev := &rca.Revision{ID: id + "/1", Postmortem: id, Revision: 1, IncidentKey: d.Key, Title: d.Title,
		Severity: in.Severity, Content: content, PublishedBy: approver, PublishedAt: published}
	// Created, submitted, approved, published: four writes.
	p := &rca.Postmortem{ID: id, IncidentKey: d.Key, Title: d.Title, Severity: in.Severity, Content: content,
		Status: rca.Published, Revision: 1, PublishedRevision: 1, Authors: []string{author}, Comments: []rca.Comment{},
		ApprovedBy: approver, ApprovedAt: &approved, PublishedBy: approver, PublishedAt: &published,
		CreatedAt: drafted, CreatedBy: author, UpdatedAt: published, Version: 4, Seq: c.next()}
	c.incidents = append(c.incidents, in)
	c.incidentKeys = append(c.incidentKeys, bson.D{{Key: "_id", Value: in.Key}, {Key: "incident_id", Value: id}})
	c.revisions = append(c.revisions, rev)
	c.postmortems = append(c.postmortems, p)
}

// sentencesOf splits corpus text ("Word word. Word word.") after each
// full stop; joined with spaces they are the text again.
func sentencesOf(s string) []string {
	var out []string
	for s != "" {
		k := strings.Index(s, ". ")
		if k < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:k+1])
		s = s[k+2:]
	}
	return out
}

// group joins sentences into n consecutive groups of nearly equal count
// (empty ones last when there are fewer sentences than groups).
func group(sentences []string, n int) []string {
	out := make([]string, n)
	if n == 0 {
		return out
	}
	if len(sentences) < n {
		copy(out, sentences)
		return out
	}
	from := 0
	for j := range n {
		to := len(sentences) * (j + 1) / n
		out[j] = strings.Join(sentences[from:to], " ")
		from = to
	}
	return out
}

// split divides s into n non-empty parts, at sentence ends when there are
// enough sentences, else between words (s repeated when it has fewer
// than n words).
func split(s string, n int) []string {
	if n == 0 {
		return nil
	}
	if sent := sentencesOf(s); len(sent) >= n {
		return group(sent, n)
	}
	words := strings.Fields(s)
	if len(words) < n {
		out := make([]string, n)
		for j := range out {
			out[j] = s
		}
		return out
	}
	return group(words, n)
}
