package rca

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// started is when the imported incident began: in 2025, so that its key
// comes from 2025's counter while the clock reads 2026.
var started = time.Date(2025, 11, 3, 8, 0, 0, 0, time.UTC)

func validImport(ref string) ImportedPostmortem {
	detected, mitigated, resolved := started.Add(40*time.Minute), started.Add(3*time.Hour), started.Add(26*time.Hour)
	due := started.Add(30 * day)
	zero := 0
	return ImportedPostmortem{
		Ref: ref,
		Incident: NewIncident{Title: "Payout holds released early", Severity: "sev1", StartedAt: started, DetectedAt: &detected,
			MitigatedAt: &mitigated, ResolvedAt: &resolved, Detection: "Finance reconciliation alert.", Owner: "lena",
			Impact: Impact{Text: "Held payouts reached flagged merchants.", AffectedActors: 41, Regions: []string{"US"}}},
		RCA: RCA{ProblemStatement: "Payout holds were lifted before review finished.",
			RootCauses: []RootCause{
				rootCause(Product, "bug", "A config change reset the payout hold flag on deploy"),
				rootCause(Process, "handoff", "The night shift did not hand over the open holds"),
				rootCause(Policy, "ambiguous_policy", "The policy does not say who may lift a hold"),
			},
			ContributingFactors: []string{"Holiday staffing"},
			MitigationGaps:      []MitigationGap{{Mitigation: "Manual hold review", Why: "Nobody owned the queue at night"}}},
		ActionItems: []ImportedActionItem{
			{Title: "Pin the hold flag in config", Owner: "ivy", Due: &due, Status: ItemDone, Kind: "prevent", RootCause: &zero},
			{Title: "Add holds to the shift handover", Owner: "lena", Status: ItemInProgress, Kind: "process"},
			{Title: "Write who may lift a hold", Owner: "lena", Status: ItemOpen, Kind: "policy"},
		},
		Content: Content{Summary: "Payout holds were released early for a day.", Impact: "41 merchants were paid out.",
			Timeline:  []TimelineItem{{At: started, Event: "Deploy reset the flag"}, {At: detected, Event: "Reconciliation alert"}},
			Detection: "An alert.", Lessons: "Pin safety flags.", Body: "More detail."},
	}
}

// count counts the documents of coll with _id id, bypassing the services.
func (h *harness) count(coll, id string) int64 {
	h.t.Helper()
	n, err := h.db.Collection(coll).CountDocuments(h.ctx, bson.D{{Key: "_id", Value: id}})
	require.NoError(h.t, err)
	return n
}

// counter is the last number the incident-key counter of year handed out.
func (h *harness) counter(year int) int64 {
	h.t.Helper()
	n, err := h.db.CurrentSeq(h.ctx, fmt.Sprintf("incident_key_%d", year))
	require.NoError(h.t, err)
	return n
}

func TestImportPostmortem(t *testing.T) {
	h := newHarness(t)
	res, err := h.svc.ImportPostmortem(h.ctx, h.admin, validImport("payout-holds"), auth.Meta{RequestID: "r1"})
	require.NoError(t, err)
	assert.Equal(t, ImportCreated, res.Outcome)
	assert.Equal(t, "INC-2025-1", res.Incident.Key, "the key comes from the year the incident started")
	assert.Equal(t, ImportID("payout-holds"), res.Incident.ID)
	assert.Empty(t, res.Findings)

	t.Run("incident_rca_and_items_are_stored_as_given", func(t *testing.T) {
		in := h.getIncident(h.lena, "INC-2025-1")
		assert.Equal(t, Resolved, in.Status, "derived from resolved_at")
		assert.Equal(t, "lena", in.Owner)
		require.Len(t, in.RCA.RootCauses, 3)
		for _, rc := range in.RCA.RootCauses {
			assert.True(t, rc.SuggestedCategory.Valid(), "the classifier's suggestion is stored beside the human category")
		}
		require.Len(t, in.ActionItems, 3)
		assert.Equal(t, []int{1, 2, 3}, []int{in.ActionItems[0].N, in.ActionItems[1].N, in.ActionItems[2].N})
		assert.Equal(t, ItemDone, in.ActionItems[0].Status)
		require.NotNil(t, in.ActionItems[0].DoneAt, "a done item gets done_at")
		assert.Equal(t, ItemInProgress, in.ActionItems[1].Status)
		assert.Equal(t, "admin", in.ActionItems[1].CreatedBy)
	})
	t.Run("published_revision_1_is_readable_by_leadership", func(t *testing.T) {
		pub, err := h.svc.GetPublished(h.ctx, h.leo, "INC-2025-1", 0)
		require.NoError(t, err)
		assert.Equal(t, 1, pub.Revision)
		assert.Equal(t, "Payout holds were released early for a day.", pub.Content.Summary)
		assert.Equal(t, "admin", pub.PublishedBy)
		p := h.storedPostmortem("INC-2025-1")
		assert.Equal(t, Published, p.Status)
		assert.Equal(t, 1, p.PublishedRevision)
		require.Len(t, p.Comments, 1, "the postmortem says it was imported without review")
		assert.Contains(t, p.Comments[0].Text, "payout-holds")
	})
	t.Run("audited_once", func(t *testing.T) {
		ev := h.events("postmortem.import")
		require.Len(t, ev, 1)
		assert.Equal(t, "INC-2025-1", ev[0].Entity.ID)
		assert.Equal(t, "created", ev[0].Detail["outcome"])
		assert.Equal(t, "r1", ev[0].RequestID)
	})
	t.Run("rerun_writes_nothing_and_takes_no_number", func(t *testing.T) {
		again, err := h.svc.ImportPostmortem(h.ctx, h.admin, validImport("payout-holds"), auth.Meta{})
		require.NoError(t, err)
		assert.Equal(t, ImportUnchanged, again.Outcome)
		assert.Equal(t, "INC-2025-1", again.Incident.Key)
		assert.Equal(t, int64(1), h.counter(2025))
		assert.Equal(t, 1, h.incidentCount())
		assert.Len(t, h.events("postmortem.import"), 1)
	})
	t.Run("rerun_with_changed_content_is_refused", func(t *testing.T) {
		changed := validImport("payout-holds")
		changed.Content.Summary = "Rewritten."
		_, err := h.svc.ImportPostmortem(h.ctx, h.admin, changed, auth.Meta{})
		assert.True(t, errs.Is(err, errs.Conflict), "%v", err)
		assert.ErrorContains(t, err, "INC-2025-1")
		pub, err := h.svc.GetPublished(h.ctx, h.leo, "INC-2025-1", 0)
		require.NoError(t, err)
		assert.Equal(t, "Payout holds were released early for a day.", pub.Content.Summary)
	})
	t.Run("another_ref_is_another_incident", func(t *testing.T) {
		other, err := h.svc.ImportPostmortem(h.ctx, h.admin, validImport("payout-holds-2"), auth.Meta{})
		require.NoError(t, err)
		assert.Equal(t, "INC-2025-2", other.Incident.Key)
	})
}

func TestImportPostmortemRefusals(t *testing.T) {
	h := newHarness(t)
	nothingWritten := func(t *testing.T, ref string) {
		t.Helper()
		id := ImportID(ref)
		for _, coll := range []string{"imports", "incidents", "postmortems"} {
			assert.Zero(t, h.count(coll, id), "%s holds nothing of a refused import", coll)
		}
		assert.Zero(t, h.counter(2025), "no incident number was taken")
	}
	t.Run("non_admins_are_refused_and_audited", func(t *testing.T) {
		for _, u := range []*auth.User{h.lena, h.ivy, h.vic, h.leo} {
			_, err := h.svc.ImportPostmortem(h.ctx, u, validImport("by-"+u.Username), auth.Meta{})
			assert.True(t, errs.Is(err, errs.Forbidden), "%s: %v", u.Username, err)
			nothingWritten(t, "by-"+u.Username)
		}
		denied := h.events("postmortem.import")
		require.Len(t, denied, 4)
		assert.Equal(t, auth.OutcomeDenied, denied[0].Outcome)
	})
	t.Run("every_invalid_field_is_reported_with_its_path", func(t *testing.T) {
		bad := validImport("bad")
		bad.Incident.Kind = KindIssue
		bad.Incident.Severity = "sev9"
		bad.RCA.RootCauses[1].Subcategory = "bug" // a product subcategory under process
		bad.ActionItems[1].Owner = ""
		bad.ActionItems[2].DoneAt = &started
		bad.Content.Summary = " "
		bad.Content.Timeline[1].Event = ""
		_, err := h.svc.ImportPostmortem(h.ctx, h.admin, bad, auth.Meta{})
		require.True(t, errs.Is(err, errs.Invalid), "%v", err)
		var fields []string
		for _, f := range err.(*errs.Error).Fields {
			fields = append(fields, f.Field)
		}
		assert.ElementsMatch(t, []string{"kind", "severity", "root_causes[1].subcategory", "action_items[1].owner",
			"action_items[2].done_at", "postmortem.summary", "postmortem.timeline[1].event"}, fields)
		nothingWritten(t, "bad")
	})
	t.Run("empty_ref_and_linked_cases_are_invalid", func(t *testing.T) {
		bad := validImport("")
		bad.Incident.LinkedCases = []string{"CF-2026-1"}
		_, err := h.svc.ImportPostmortem(h.ctx, h.admin, bad, auth.Meta{})
		require.True(t, errs.Is(err, errs.Invalid), "%v", err)
		assert.ErrorContains(t, err, "ref: is required")
		assert.ErrorContains(t, err, "linked_cases")
	})
	t.Run("pii_is_refused_unless_acknowledged", func(t *testing.T) {
		pii := validImport("pii")
		pii.Content.Summary = "The seller answered at seller@example.com within minutes."
		_, err := h.svc.ImportPostmortem(h.ctx, h.admin, pii, auth.Meta{})
		require.True(t, errs.Is(err, errs.Conflict), "%v", err)
		require.Len(t, err.(*errs.Error).Fields, 1)
		assert.Equal(t, "postmortem.summary", err.(*errs.Error).Fields[0].Field)
		nothingWritten(t, "pii")

		pii.AcknowledgePII = true
		res, err := h.svc.ImportPostmortem(h.ctx, h.admin, pii, auth.Meta{})
		require.NoError(t, err)
		require.Len(t, res.Findings, 1)
		assert.Equal(t, "email", res.Findings[0].Kind)
		assert.Equal(t, "admin", h.storedPostmortem(res.Incident.Key).PIIAcknowledgedBy)
	})
}

// TestImportPostmortemCompletesInterruptedImports puts the store in the
// state a crash at each point of an import leaves — a full import with
// its later documents removed — and checks that running the import again
// completes it without a second incident, revision, postmortem or number.
func TestImportPostmortemCompletesInterruptedImports(t *testing.T) {
	type doc struct{ coll, id string }
	id := ImportID("crash")
	key := "INC-2025-1"
	ledger, keyDoc, incident := doc{"imports", id}, doc{"incident_keys", key}, doc{"incidents", id}
	revision, postmortem := doc{"postmortem_revisions", id + "/1"}, doc{"postmortems", id}
	tests := []struct {
		name       string
		remove     []doc
		incomplete bool // the ledger entry is not marked complete
		audited    int  // import events after the re-run
	}{
		{name: "only_the_incident_exists_no_ledger", remove: []doc{ledger, keyDoc, revision, postmortem}, audited: 2},
		{name: "only_the_ledger_entry_exists", remove: []doc{keyDoc, incident, revision, postmortem}, incomplete: true, audited: 2},
		{name: "ledger_and_key", remove: []doc{incident, revision, postmortem}, incomplete: true, audited: 2},
		{name: "up_to_the_incident", remove: []doc{revision, postmortem}, incomplete: true, audited: 2},
		{name: "up_to_the_revision", remove: []doc{postmortem}, incomplete: true, audited: 2},
		{name: "all_but_the_ledger_mark", incomplete: true, audited: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			first, err := h.svc.ImportPostmortem(h.ctx, h.admin, validImport("crash"), auth.Meta{})
			require.NoError(t, err)
			require.Equal(t, key, first.Incident.Key)
			before, err := h.store.Revision(h.ctx, id, 1)
			require.NoError(t, err)
			for _, d := range tt.remove {
				res, err := h.db.Collection(d.coll).DeleteOne(h.ctx, bson.D{{Key: "_id", Value: d.id}})
				require.NoError(t, err)
				require.Equal(t, int64(1), res.DeletedCount, "%s/%s", d.coll, d.id)
			}
			if tt.incomplete {
				_, err := h.db.Collection("imports").UpdateOne(h.ctx, bson.D{{Key: "_id", Value: id}},
					bson.D{{Key: "$unset", Value: bson.D{{Key: "completed_at", Value: ""}}}})
				require.NoError(t, err)
			}
			h.clock.Advance(time.Hour)

			res, err := h.svc.ImportPostmortem(h.ctx, h.admin, validImport("crash"), auth.Meta{})
			require.NoError(t, err)
			assert.Equal(t, ImportCompleted, res.Outcome)
			assert.Equal(t, key, res.Incident.Key, "the key is kept")
			assert.Equal(t, int64(1), h.counter(2025), "no second number was taken")
			for _, d := range []doc{ledger, keyDoc, incident, revision, postmortem} {
				assert.Equal(t, int64(1), h.count(d.coll, d.id), "%s/%s", d.coll, d.id)
			}
			assert.Equal(t, 1, h.incidentCount())
			pub, err := h.svc.GetPublished(h.ctx, h.leo, key, 0)
			require.NoError(t, err)
			assert.Equal(t, validImport("crash").Content.Summary, pub.Content.Summary)
			if !slices.Contains(tt.remove, revision) {
				assert.True(t, before.PublishedAt.Equal(pub.PublishedAt), "a stored revision is kept, not rewritten")
			}
			rec, err := h.store.ImportRecord(h.ctx, id)
			require.NoError(t, err)
			assert.NotNil(t, rec.CompletedAt)
			assert.Len(t, h.events("postmortem.import"), tt.audited, "the audit event is written at least once")

			again, err := h.svc.ImportPostmortem(h.ctx, h.admin, validImport("crash"), auth.Meta{})
			require.NoError(t, err)
			assert.Equal(t, ImportUnchanged, again.Outcome)
		})
	}
}
