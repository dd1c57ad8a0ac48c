package rca

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// ImportedPostmortem is a postmortem written outside Casefile, brought in
// whole: the incident, its RCA and action items, and the text, which is
// published as revision 1.
type ImportedPostmortem struct {
	// Ref names the import and derives every id it writes (ImportID): the
	// same Ref is the same incident on every run.
	Ref string
	// Incident must be of kind incident (issues have no postmortem) and
	// link no cases. An empty Status is derived from the times given:
	// resolved, else mitigated, else investigating.
	Incident    NewIncident
	RCA         RCA
	ActionItems []ImportedActionItem
	Content     Content
	// AcknowledgePII publishes despite findings of the publish-time PII
	// scan, as Step's acknowledgePII does; without it they refuse the
	// import.
	AcknowledgePII bool
}

// ImportedActionItem is an action item as the source had it, status and
// all. DoneAt is only for done items (the import time when missing).
type ImportedActionItem struct {
	Title     string
	Owner     string
	Due       *time.Time
	Status    ActionItemStatus
	Kind      string
	RootCause *int
	DoneAt    *time.Time
}

// ImportOutcome says what an import did.
type ImportOutcome string

const (
	// ImportCreated: nothing of this import existed; all of it was written.
	ImportCreated ImportOutcome = "created"
	// ImportCompleted: an earlier run was interrupted; its missing
	// documents were written.
	ImportCompleted ImportOutcome = "completed"
	// ImportUnchanged: imported before with the same content; nothing was
	// written.
	ImportUnchanged ImportOutcome = "unchanged"
)

// ImportResult is the answer to ImportPostmortem.
type ImportResult struct {
	Outcome  ImportOutcome
	Incident Incident
	// Findings are what the PII scan found (only ever non-empty when
	// AcknowledgePII was set).
	Findings []PIIFinding
}

// ImportRecord is the ledger entry of one imported postmortem (collection
// "imports", _id the incident id). It holds the incident key the import
// took from the counter, so that no re-run takes another, and the digest
// of the imported content, so that a re-run with different content is
// noticed rather than silently ignored.
type ImportRecord struct {
	ID          string     `bson:"_id"`
	Ref         string     `bson:"ref"`
	Digest      string     `bson:"digest"`
	IncidentKey string     `bson:"incident_key"`
	By          string     `bson:"by"`
	StartedAt   time.Time  `bson:"started_at"`
	CompletedAt *time.Time `bson:"completed_at,omitempty"`
	Version     int64      `bson:"version"`
}

// ImportID is the incident id (and postmortem id, and ledger id) an
// import with reference ref writes: 20 hex digits like every incident id.
func ImportID(ref string) string {
	sum := sha256.Sum256([]byte("casefile/import/postmortem\x00" + ref))
	return hex.EncodeToString(sum[:10])
}

// ImportPostmortem creates an incident with its RCA and action items and a
// published postmortem (revision 1, its frozen revision stored as Step's
// publish stores it) from a postmortem written elsewhere. Only admins may
// (auth.ImportData). It is audited once per import as
// "postmortem.import", and the search index is told of both documents.
//
// The store has no multi-document transactions and an import writes
// several documents (ledger entry, incident key, incident, revision,
// postmortem, counters). What callers can count on:
//
//   - Everything is validated before the first write — the incident, the
//     RCA against the taxonomy, every action item, the postmortem text
//     and the publish-time PII scan — so a refused import writes nothing
//     (a refusal for want of permission writes its audit event only).
//   - Every document has an id derived from in.Ref (ImportID) or from the
//     incident key the ledger entry records, and each write is an insert
//     that keeps an existing document. Running the same import again,
//     after success or after a crash at any point, converges on exactly
//     one incident, one key, one revision 1 and one published postmortem,
//     and takes no other incident number.
//   - It is not atomic: after a crash, and until a re-run completes it,
//     readers may see the incident without its postmortem (as if it were
//     not yet written), never a postmortem without its incident or its
//     revision.
//   - A crash between taking the incident number and recording it in the
//     ledger leaves a gap in the incident keys; a number is never reused.
//   - The audit event is written at least once: a crash after it and
//     before the ledger entry is marked complete writes it again on the
//     re-run.
//   - A re-run whose content differs from what was imported under the
//     same Ref is refused (Conflict); the store keeps the first import.
//     An incident with the import's id but no ledger entry (a ledger lost,
//     or written by hand) is adopted with its key.
//
// Imports of different Refs are independent of each other.
func (s *Service) ImportPostmortem(ctx context.Context, u *auth.User, in ImportedPostmortem, m auth.Meta) (ImportResult, error) {
	if !auth.Can(u, auth.ImportData, auth.Resource{}) {
		if err := s.record(ctx, u, m, "postmortem.import", "postmortem", "", auth.OutcomeDenied, map[string]string{"ref": in.Ref}); err != nil {
			return ImportResult{}, err
		}
		return ImportResult{}, errs.E(errs.Forbidden, "only admins may import")
	}
	now := s.clock()
	plan, err := s.planImport(ctx, u, in, now)
	if err != nil {
		return ImportResult{}, err
	}
	id := ImportID(in.Ref)
	fresh := false // this run made the ledger entry
	rec, err := s.store.ImportRecord(ctx, id)
	switch {
	case err == nil:
		if rec.Digest != plan.digest {
			return ImportResult{}, errs.E(errs.Conflict, "%q was imported before as %s with different content; the store keeps that import "+
				"(edit %s in Casefile, or give this one another id to import it as a new incident)", in.Ref, rec.IncidentKey, rec.IncidentKey)
		}
		if rec.CompletedAt != nil {
			inc, err := s.store.Incident(ctx, id)
			if err != nil {
				return ImportResult{}, err
			}
			return ImportResult{Outcome: ImportUnchanged, Incident: s.present(ctx, u, inc), Findings: plan.findings}, nil
		}
	case errs.Is(err, errs.NotFound):
		if rec, err = s.reserveImport(ctx, u, id, in.Ref, plan, now); err != nil {
			return ImportResult{}, err
		}
		fresh = true
	default:
		return ImportResult{}, err
	}
	return s.writeImport(ctx, u, rec, fresh, plan, m, now)
}

// importPlan is an import validated and ready to write.
type importPlan struct {
	incident Incident // without id, key and seq
	content  Content
	findings []PIIFinding
	ack      bool
	digest   string
	ref      string
}

// planImport validates everything an import will write, before anything
// is written, and builds it.
func (s *Service) planImport(ctx context.Context, u *auth.User, in ImportedPostmortem, now time.Time) (importPlan, error) {
	digest, err := importDigest(in)
	if err != nil {
		return importPlan{}, err
	}
	subs, err := s.cases.RootCauseSubcategories(ctx)
	if err != nil {
		return importPlan{}, err
	}
	var f errs.Fields
	f.Text("ref", in.Ref, 200, true)
	ni := in.Incident
	switch ni.Kind {
	case "", KindIncident:
		ni.Kind = KindIncident
	case KindIssue:
		f.Add("kind", "issues have RCAs but no postmortem; only incidents can be imported")
	}
	if len(ni.LinkedCases) > 0 {
		f.Add("linked_cases", "an import links no cases; link them in Casefile afterwards")
	}
	ms := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		v := t.UTC().Truncate(time.Millisecond)
		return &v
	}
	if ni.Status == "" {
		switch {
		case ni.ResolvedAt != nil:
			ni.Status = Resolved
		case ni.MitigatedAt != nil:
			ni.Status = Mitigated
		default:
			ni.Status = Investigating
		}
	}
	if ni.Owner == "" {
		ni.Owner = u.Username
	}
	inc := Incident{Kind: ni.Kind, Title: ni.Title, Severity: ni.Severity, Status: ni.Status, StartedAt: ni.StartedAt.UTC().Truncate(time.Millisecond),
		DetectedAt: ms(ni.DetectedAt), MitigatedAt: ms(ni.MitigatedAt), ResolvedAt: ms(ni.ResolvedAt), Detection: ni.Detection,
		Impact: ni.Impact, Owner: ni.Owner, LinkedCases: []string{}, CreatedAt: now, CreatedBy: u.Username, UpdatedAt: now, Version: 1}
	inc.Impact.Regions = nonNil(inc.Impact.Regions)
	addFields(&f, "", inc.validate())

	r := in.RCA
	r.RootCauses = nonNil(r.RootCauses)
	r.ContributingFactors = nonNil(r.ContributingFactors)
	r.MitigationGaps = nonNil(r.MitigationGaps)
	r.UpdatedBy, r.UpdatedAt = u.Username, &now
	for i := range r.RootCauses {
		r.RootCauses[i].SuggestedCategory, r.RootCauses[i].SuggestionConfidence = "", 0
	}
	addFields(&f, "", r.validate(subs))
	inc.RCA = r

	if len(in.ActionItems) > maxActionItems {
		f.Add("action_items", "must have at most %d entries", maxActionItems)
	}
	inc.ActionItems = make([]ActionItem, 0, len(in.ActionItems))
	for i, it := range in.ActionItems {
		a := ActionItem{N: i + 1, Title: it.Title, Owner: it.Owner, Due: ms(it.Due), Status: it.Status, Kind: it.Kind,
			RootCause: it.RootCause, CreatedAt: now, CreatedBy: u.Username}
		p := fmt.Sprintf("action_items[%d]", i)
		addFields(&f, p+".", a.validate(len(r.RootCauses)))
		switch {
		case a.Status == ItemDone && it.DoneAt != nil:
			a.DoneAt = ms(it.DoneAt)
		case a.Status == ItemDone:
			a.DoneAt = &now
		case it.DoneAt != nil:
			f.Add(p+".done_at", "is only for done items")
		}
		inc.ActionItems = append(inc.ActionItems, a)
	}

	c := in.Content
	c.Timeline = nonNil(c.Timeline)
	for i := range c.Timeline {
		c.Timeline[i].At = c.Timeline[i].At.UTC().Truncate(time.Millisecond)
	}
	addFields(&f, "postmortem.", c.validate())
	if err := f.Err(); err != nil {
		return importPlan{}, err
	}

	// The publish-time check: an import publishes, so it is held to it.
	ids, handles, err := s.cases.ActorIdentifiers(ctx, inc.LinkedCases)
	if err != nil {
		return importPlan{}, err
	}
	findings := scanPII(c, ActorIdentifiers{IDs: ids, Handles: handles})
	for i := range findings {
		findings[i].Field = "postmortem." + findings[i].Field
	}
	if len(findings) > 0 && !in.AcknowledgePII {
		return importPlan{}, &errs.Error{Code: errs.Conflict,
			Message: "the postmortem may identify people; redact it, or import it acknowledging the findings",
			Fields:  piiFields(findings)}
	}
	return importPlan{incident: inc, content: c, findings: nonNil(findings), ack: in.AcknowledgePII, digest: digest, ref: in.Ref}, nil
}

// addFields adds the field errors of an Invalid err under prefix.
func addFields(f *errs.Fields, prefix string, err error) {
	var e *errs.Error
	if err == nil || !errors.As(err, &e) {
		return
	}
	for _, fe := range e.Fields {
		f.Add(prefix+fe.Field, "%s", fe.Message)
	}
}

// importDigest identifies an import's content: what a re-run compares
// with the ledger. The PII acknowledgement is a decision about the
// content, not part of it.
func importDigest(in ImportedPostmortem) (string, error) {
	in.AcknowledgePII = false
	b, err := json.Marshal(in)
	if err != nil {
		return "", fmt.Errorf("rca: import digest: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// reserveImport writes the ledger entry with the incident key: the key of
// an incident already stored under the import's id (adopted), else a new
// number. Of two importers racing, the first entry wins and the other's
// number is a gap.
func (s *Service) reserveImport(ctx context.Context, u *auth.User, id, ref string, plan importPlan, now time.Time) (ImportRecord, error) {
	rec := ImportRecord{ID: id, Ref: ref, Digest: plan.digest, By: u.Username, StartedAt: now, Version: 1}
	existing, err := s.store.Incident(ctx, id)
	switch {
	case err == nil:
		rec.IncidentKey = existing.Key
	case errs.Is(err, errs.NotFound):
		year := plan.incident.StartedAt.Year()
		n, err := s.store.NextIncidentNumber(ctx, year)
		if err != nil {
			return ImportRecord{}, err
		}
		rec.IncidentKey = fmt.Sprintf("INC-%d-%d", year, n)
	default:
		return ImportRecord{}, err
	}
	err = s.store.InsertImportRecord(ctx, &rec)
	if errs.Is(err, errs.Conflict) {
		won, err := s.store.ImportRecord(ctx, id)
		if err != nil {
			return ImportRecord{}, err
		}
		if won.Digest != plan.digest {
			return ImportRecord{}, errs.E(errs.Conflict, "%q is being imported with different content at the same time", ref)
		}
		return won, nil
	}
	return rec, err
}

// writeImport writes every document of the import that does not exist
// yet, in the order that keeps what readers see consistent: the key
// mapping (harmless alone), the incident, the frozen revision, the
// published postmortem; then the audit event and the ledger's mark.
// fresh: this run wrote the ledger entry (the outcome is "created" when
// it wrote the incident too).
func (s *Service) writeImport(ctx context.Context, u *auth.User, rec ImportRecord, fresh bool, plan importPlan, m auth.Meta, now time.Time) (ImportResult, error) {
	id := rec.ID
	if err := s.store.InsertIncidentKey(ctx, rec.IncidentKey, id); errs.Is(err, errs.Conflict) {
		mapped, err := s.store.IncidentIDByKey(ctx, rec.IncidentKey)
		if err != nil {
			return ImportResult{}, err
		}
		if mapped != id {
			return ImportResult{}, fmt.Errorf("rca: import %q: key %s belongs to another incident", plan.ref, rec.IncidentKey)
		}
	} else if err != nil {
		return ImportResult{}, err
	}

	inc, err := s.store.Incident(ctx, id)
	insertedIncident := false
	if errs.Is(err, errs.NotFound) {
		inc = plan.incident
		inc.ID, inc.Key = id, rec.IncidentKey
		inc.RCA.RootCauses = append([]RootCause(nil), inc.RCA.RootCauses...)
		for i := range inc.RCA.RootCauses {
			sug := s.classify.Classify(inc.RCA.RootCauses[i].Description)
			inc.RCA.RootCauses[i].SuggestedCategory, inc.RCA.RootCauses[i].SuggestionConfidence = sug.Category, sug.Confidence
		}
		if inc.Seq, err = s.store.NextSeq(ctx); err != nil {
			return ImportResult{}, err
		}
		err = s.store.InsertIncidentDoc(ctx, &inc)
		switch {
		case err == nil:
			insertedIncident = true
		case errs.Is(err, errs.Conflict):
			if inc, err = s.store.Incident(ctx, id); err != nil {
				return ImportResult{}, err
			}
		default:
			return ImportResult{}, err
		}
	} else if err != nil {
		return ImportResult{}, err
	}

	if _, err := s.store.Postmortem(ctx, id); errs.Is(err, errs.NotFound) {
		if err := s.insertImportedPostmortem(ctx, u, &inc, plan, now); err != nil {
			return ImportResult{}, err
		}
	} else if err != nil {
		return ImportResult{}, err
	}

	if insertedIncident {
		s.classify.Learn(labels(inc.RCA.RootCauses)...)
	}
	s.notify(ctx, "incident", id)
	s.notify(ctx, "postmortem", id)
	outcome := ImportCompleted
	if fresh && insertedIncident {
		outcome = ImportCreated
	}
	detail := map[string]string{"ref": plan.ref, "outcome": string(outcome), "revision": "1", "pii_findings": strconv.Itoa(len(plan.findings))}
	if err := s.record(ctx, u, m, "postmortem.import", "postmortem", inc.Key, auth.OutcomeSuccess, detail); err != nil {
		return ImportResult{}, err
	}
	if err := s.store.CompleteImport(ctx, id, now); err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Outcome: outcome, Incident: s.present(ctx, u, inc), Findings: plan.findings}, nil
}

// insertImportedPostmortem stores revision 1 (keeping one an interrupted
// run stored) and then the postmortem that publishes it.
func (s *Service) insertImportedPostmortem(ctx context.Context, u *auth.User, inc *Incident, plan importPlan, now time.Time) error {
	rev := Revision{Postmortem: inc.ID, Revision: 1, IncidentKey: inc.Key, Title: inc.Title, Severity: inc.Severity,
		Content: plan.content, PublishedBy: u.Username, PublishedAt: now}
	if err := s.store.InsertRevision(ctx, &rev); errs.Is(err, errs.Conflict) {
		if rev, err = s.store.Revision(ctx, inc.ID, 1); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	seq, err := s.store.NextSeq(ctx)
	if err != nil {
		return err
	}
	publishedAt := rev.PublishedAt
	p := Postmortem{ID: inc.ID, IncidentKey: inc.Key, Title: inc.Title, Severity: inc.Severity, Content: rev.Content,
		Status: Published, Revision: 1, PublishedRevision: 1, Authors: []string{u.Username},
		Comments: []Comment{{Author: u.Username, At: now, Revision: 1,
			Text: fmt.Sprintf("Imported from %q and published as written: it was not reviewed in Casefile.", plan.ref)}},
		PublishedBy: rev.PublishedBy, PublishedAt: &publishedAt, CreatedAt: now, CreatedBy: u.Username, UpdatedAt: now, Version: 1, Seq: seq}
	if len(plan.findings) > 0 && plan.ack {
		p.PIIAcknowledgedBy = u.Username
	}
	if err := s.store.InsertPostmortem(ctx, &p); err != nil && !errs.Is(err, errs.Conflict) {
		return err
	}
	return nil
}
