package rca

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func TestCreateIncident(t *testing.T) {
	h := newHarness(t)

	t.Run("keys_are_sequential_per_year", func(t *testing.T) {
		var keys []string
		for range 3 {
			keys = append(keys, h.createIncident(h.lena, nil).Key)
		}
		assert.Equal(t, []string{"INC-2026-1", "INC-2026-2", "INC-2026-3"}, keys)
		for _, k := range keys {
			assert.True(t, IsKey(k), k)
		}
		h.clock.Advance(365 * day) // into 2027: a new sequence
		assert.Equal(t, "INC-2027-1", h.createIncident(h.lena, nil).Key)
	})

	t.Run("defaults_and_stored_fields", func(t *testing.T) {
		in := h.createIncident(h.ivy, func(n *NewIncident) { n.Kind, n.Status = "", "" })
		assert.Equal(t, KindIncident, in.Kind)
		assert.Equal(t, Investigating, in.Status)
		assert.Equal(t, "ivy", in.Owner)
		assert.Equal(t, "ivy", in.CreatedBy)
		assert.Equal(t, int64(1), in.Version)
		assert.Len(t, in.ID, 20)

		got := h.getIncident(h.lena, in.Key)
		assert.Equal(t, in.ID, got.ID)
		assert.Equal(t, "Fraud queue backlog", got.Title)
		assert.Equal(t, Impact{Text: "Reports waited for hours.", AffectedActors: 120, ExposureCount: 12000, Regions: []string{"DE", "US"}}, got.Impact)
		// By id as well as by key.
		byID := h.getIncident(h.lena, in.ID)
		assert.Equal(t, in.Key, byID.Key)
	})
}

func TestCreateIncidentValidationNamesFields(t *testing.T) {
	h := newHarness(t)
	before := t0.Add(-2 * time.Hour)
	tests := []struct {
		name  string
		edit  func(*NewIncident)
		field string
	}{
		{"missing_title", func(n *NewIncident) { n.Title = "  " }, "title"},
		{"bad_severity", func(n *NewIncident) { n.Severity = "sev4" }, "severity"},
		{"bad_kind", func(n *NewIncident) { n.Kind = "outage" }, "kind"},
		{"bad_status", func(n *NewIncident) { n.Status = "closed" }, "status"},
		{"missing_started_at", func(n *NewIncident) { n.StartedAt = time.Time{} }, "started_at"},
		{"mitigated_without_mitigated_at", func(n *NewIncident) { n.Status = Mitigated }, "mitigated_at"},
		{"resolved_without_resolved_at", func(n *NewIncident) { n.Status = Resolved }, "resolved_at"},
		{"resolved_at_before_started_at", func(n *NewIncident) { n.Status, n.ResolvedAt = Resolved, &before }, "resolved_at"},
		{"detected_at_before_started_at", func(n *NewIncident) { n.DetectedAt = &before }, "detected_at"},
		{"resolved_before_mitigated", func(n *NewIncident) {
			n.Status, n.MitigatedAt, n.ResolvedAt = Resolved, ptr(t0.Add(time.Hour)), ptr(t0)
		}, "resolved_at"},
		{"bad_region", func(n *NewIncident) { n.Impact.Regions = []string{"DE", "germany"} }, "impact.regions[1]"},
		{"negative_affected_actors", func(n *NewIncident) { n.Impact.AffectedActors = -1 }, "impact.affected_actors"},
		{"bad_case_key", func(n *NewIncident) { n.LinkedCases = []string{"case-1"} }, "linked_cases[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validIncident()
			tt.edit(&in)
			_, err := h.svc.CreateIncident(h.ctx, h.lena, in, auth.Meta{})
			assert.Contains(t, errstest.Fields(t, err), tt.field)
		})
	}
	assert.Zero(t, h.incidentCount(), "no invalid incident is stored")
}

func TestIncidentDerivesTimesInSeconds(t *testing.T) {
	h := newHarness(t)
	start := t0.Add(-4 * time.Hour)
	in := h.createIncident(h.lena, func(n *NewIncident) {
		n.Status, n.StartedAt = Resolved, start
		n.DetectedAt, n.MitigatedAt, n.ResolvedAt = ptr(start.Add(10*time.Minute)), ptr(start.Add(time.Hour)), ptr(start.Add(3*time.Hour+30*time.Minute))
	})
	for _, got := range []Incident{in, h.getIncident(h.lena, in.Key)} {
		require.NotNil(t, got.TimeToDetect)
		require.NotNil(t, got.TimeToMitigate)
		require.NotNil(t, got.TimeToResolve)
		assert.Equal(t, Seconds(600), *got.TimeToDetect)
		assert.Equal(t, Seconds(3600), *got.TimeToMitigate)
		assert.Equal(t, Seconds(12600), *got.TimeToResolve)
	}

	open := h.createIncident(h.lena, nil)
	assert.Nil(t, open.TimeToDetect, "no detected_at, no time to detect")
	assert.Nil(t, open.TimeToMitigate)
	assert.Nil(t, open.TimeToResolve)
}

func TestIncidentAccessByRole(t *testing.T) {
	h := newHarness(t)
	in := h.createIncident(h.lena, nil)

	t.Run("vendor_agent_cannot_create", func(t *testing.T) {
		_, err := h.svc.CreateIncident(h.ctx, h.vic, validIncident(), auth.Meta{})
		errstest.Require(t, err, errs.Forbidden)
		denied := h.events("incident.create")
		require.NotEmpty(t, denied)
		last := denied[len(denied)-1]
		assert.Equal(t, "vic", last.User)
		assert.Equal(t, auth.OutcomeDenied, last.Outcome)
	})
	t.Run("leadership_cannot_create", func(t *testing.T) {
		_, err := h.svc.CreateIncident(h.ctx, h.leo, validIncident(), auth.Meta{})
		errstest.Require(t, err, errs.Forbidden)
	})
	t.Run("vendor_agent_cannot_read", func(t *testing.T) {
		_, err := h.svc.GetIncident(h.ctx, h.vic, in.Key)
		errstest.Require(t, err, errs.NotFound)
		_, err = h.svc.GetIncident(h.ctx, h.vic, in.ID)
		errstest.Require(t, err, errs.NotFound)
		_, _, err = h.svc.ListIncidents(h.ctx, h.vic, IncidentQuery{Limit: 10})
		errstest.Require(t, err, errs.Forbidden)
	})
	t.Run("vendor_agent_cannot_update", func(t *testing.T) {
		_, err := h.svc.UpdateIncident(h.ctx, h.vic, in.Key, in.Version, IncidentPatch{Title: ptr("x")}, auth.Meta{})
		errstest.Require(t, err, errs.NotFound)
	})
	t.Run("leadership_cannot_update", func(t *testing.T) {
		_, err := h.svc.UpdateIncident(h.ctx, h.leo, in.Key, in.Version, IncidentPatch{Title: ptr("x")}, auth.Meta{})
		errstest.Require(t, err, errs.Forbidden)
	})
	t.Run("unknown_incident_is_not_found", func(t *testing.T) {
		for _, k := range []string{"INC-2026-99", "nope", "0123456789abcdef0123"} {
			_, err := h.svc.GetIncident(h.ctx, h.lena, k)
			errstest.Require(t, err, errs.NotFound)
		}
	})
	t.Run("investigator_creates_and_reads", func(t *testing.T) {
		mine := h.createIncident(h.ivy, nil)
		assert.Equal(t, "Fraud queue backlog", h.getIncident(h.ivy, mine.Key).Title)
	})
	assert.Equal(t, "Fraud queue backlog", h.getIncident(h.lena, in.Key).Title, "denied updates change nothing")
}

func TestLeadershipReadsIncidentSummary(t *testing.T) {
	h := newHarness(t)
	c := h.newCase("fraud", cases.ActorRef{ActorID: "u-1001"})
	in := h.createIncident(h.lena, func(n *NewIncident) {
		n.LinkedCases = []string{c.Key}
		n.Status, n.ResolvedAt = Resolved, ptr(t0)
	})
	in = h.putRCA(in.Key, rootCause(Product, "bug", "The dedup job dropped reports."))
	h.addItem(in.Key, NewActionItem{Title: "Add a row count check"})

	full := h.getIncident(h.lena, in.Key)
	require.Equal(t, []string{c.Key}, full.LinkedCases)
	require.Len(t, full.RCA.RootCauses, 1)
	require.Len(t, full.ActionItems, 1)

	check := func(t *testing.T, got Incident) {
		assert.Equal(t, in.Key, got.Key)
		assert.Equal(t, "Fraud queue backlog", got.Title)
		assert.Equal(t, Severity("sev2"), got.Severity)
		assert.Equal(t, int64(120), got.Impact.AffectedActors)
		require.NotNil(t, got.TimeToResolve)
		assert.Equal(t, Seconds(3600), *got.TimeToResolve)
		assert.Empty(t, got.LinkedCases)
		assert.NotNil(t, got.LinkedCases)
		assert.Empty(t, got.RCA.ProblemStatement)
		assert.Empty(t, got.RCA.RootCauses)
		assert.Empty(t, got.RCA.MitigationGaps)
		assert.Empty(t, got.ActionItems)
	}
	t.Run("get", func(t *testing.T) { check(t, h.getIncident(h.leo, in.Key)) })
	t.Run("list", func(t *testing.T) {
		list, total, err := h.svc.ListIncidents(h.ctx, h.leo, IncidentQuery{Limit: 10})
		require.NoError(t, err)
		require.Equal(t, 1, total)
		require.Len(t, list, 1)
		check(t, list[0])
	})
}

func TestUpdateIncident(t *testing.T) {
	h := newHarness(t)
	in := h.createIncident(h.lena, nil)

	t.Run("stale_if_match_is_precondition_failed", func(t *testing.T) {
		_, err := h.svc.UpdateIncident(h.ctx, h.lena, in.Key, in.Version+1, IncidentPatch{Title: ptr("x")}, auth.Meta{})
		errstest.Require(t, err, errs.PreconditionFailed)
	})
	t.Run("validation_names_fields", func(t *testing.T) {
		_, err := h.svc.UpdateIncident(h.ctx, h.lena, in.Key, in.Version, IncidentPatch{Status: ptr(Mitigated)}, auth.Meta{})
		assert.Equal(t, []string{"mitigated_at"}, errstest.Fields(t, err))
	})
	t.Run("investigator_mitigates", func(t *testing.T) {
		got, err := h.svc.UpdateIncident(h.ctx, h.ivy, in.Key, in.Version, IncidentPatch{Status: ptr(Mitigated), MitigatedAt: ptr(t0)}, auth.Meta{})
		require.NoError(t, err)
		assert.Equal(t, Mitigated, got.Status)
		assert.Equal(t, in.Version+1, got.Version)
		require.NotNil(t, got.TimeToMitigate)
		assert.Equal(t, Seconds(3600), *got.TimeToMitigate)
	})
	stored := h.getIncident(h.lena, in.Key)
	assert.Equal(t, "Fraud queue backlog", stored.Title)
	assert.Equal(t, Mitigated, stored.Status)
}

func TestLinkingCasesUpdatesTheCase(t *testing.T) {
	h := newHarness(t)
	c1 := h.newCase("fraud", cases.ActorRef{ActorID: "u-1"})
	c2 := h.newCase("fraud", cases.ActorRef{ActorID: "u-2"})

	in := h.createIncident(h.ivy, func(n *NewIncident) { n.LinkedCases = []string{c1.Key} })
	assert.Equal(t, []string{c1.Key}, in.LinkedCases)
	assert.Equal(t, []string{in.Key}, h.getCase(c1.Key).LinkedIncidents)

	in, err := h.svc.UpdateIncident(h.ctx, h.ivy, in.Key, in.Version, IncidentPatch{LinkedCases: &[]string{c2.Key}}, auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, []string{c2.Key}, in.LinkedCases)
	assert.Empty(t, h.getCase(c1.Key).LinkedIncidents, "unlinked case forgets the incident")
	assert.Equal(t, []string{in.Key}, h.getCase(c2.Key).LinkedIncidents)

	in, err = h.svc.UpdateIncident(h.ctx, h.ivy, in.Key, in.Version, IncidentPatch{LinkedCases: &[]string{}}, auth.Meta{})
	require.NoError(t, err)
	assert.Empty(t, in.LinkedCases)
	assert.Empty(t, h.getCase(c2.Key).LinkedIncidents)
	assert.Empty(t, h.getIncident(h.lena, in.Key).LinkedCases)
}

func TestLinkingCaseCallerCannotSee(t *testing.T) {
	h := newHarness(t)
	visible := h.newCase("fraud", cases.ActorRef{ActorID: "u-1"})
	hidden := h.newCase("spam", cases.ActorRef{ActorID: "u-2"}) // ivy is on team fraud

	requireLinkRefused := func(t *testing.T, err error) {
		e := errstest.Require(t, err, errs.Invalid)
		require.Len(t, e.Fields, 1)
		assert.Equal(t, "linked_cases", e.Fields[0].Field)
		assert.Contains(t, e.Fields[0].Message, hidden.Key)
	}

	t.Run("on_create_nothing_is_stored", func(t *testing.T) {
		for _, linked := range [][]string{{hidden.Key}, {visible.Key, hidden.Key}, {"CF-2026-999"}} {
			in := validIncident()
			in.LinkedCases = linked
			_, err := h.svc.CreateIncident(h.ctx, h.ivy, in, auth.Meta{})
			if linked[0] == "CF-2026-999" {
				e := errstest.Require(t, err, errs.Invalid)
				assert.Equal(t, "linked_cases", e.Fields[0].Field)
			} else {
				requireLinkRefused(t, err)
			}
		}
		assert.Zero(t, h.incidentCount())
		assert.Empty(t, h.getCase(visible.Key).LinkedIncidents, "no case keeps a link to an incident that was not stored")
		assert.Empty(t, h.getCase(hidden.Key).LinkedIncidents)
	})

	t.Run("on_update_nothing_changes", func(t *testing.T) {
		in := h.createIncident(h.ivy, nil)
		other := h.newCase("fraud", cases.ActorRef{ActorID: "u-3"})
		_, err := h.svc.UpdateIncident(h.ctx, h.ivy, in.Key, in.Version, IncidentPatch{LinkedCases: &[]string{other.Key, hidden.Key}}, auth.Meta{})
		requireLinkRefused(t, err)
		got := h.getIncident(h.lena, in.Key)
		assert.Equal(t, in.Version, got.Version)
		assert.Empty(t, got.LinkedCases)
		assert.Empty(t, h.getCase(other.Key).LinkedIncidents)
		assert.Empty(t, h.getCase(hidden.Key).LinkedIncidents)
	})

	t.Run("a_lead_may_link_any_team", func(t *testing.T) {
		in := h.createIncident(h.lena, func(n *NewIncident) { n.LinkedCases = []string{hidden.Key} })
		assert.Equal(t, []string{in.Key}, h.getCase(hidden.Key).LinkedIncidents)

		t.Run("but_nobody_unlinks_a_case_they_cannot_see", func(t *testing.T) {
			visibleToo := h.newCase("fraud", cases.ActorRef{ActorID: "u-4"})
			in, err := h.svc.UpdateIncident(h.ctx, h.lena, in.Key, in.Version, IncidentPatch{LinkedCases: &[]string{visibleToo.Key, hidden.Key}}, auth.Meta{}) // visibleToo is unlinked first, then undone
			require.NoError(t, err)
			_, err = h.svc.UpdateIncident(h.ctx, h.ivy, in.Key, in.Version, IncidentPatch{LinkedCases: &[]string{}}, auth.Meta{})
			requireLinkRefused(t, err)
			got := h.getIncident(h.lena, in.Key)
			assert.Equal(t, in.Version, got.Version, "the incident is unchanged")
			assert.ElementsMatch(t, []string{hidden.Key, visibleToo.Key}, got.LinkedCases)
			assert.Equal(t, []string{in.Key}, h.getCase(hidden.Key).LinkedIncidents)
			assert.Equal(t, []string{in.Key}, h.getCase(visibleToo.Key).LinkedIncidents, "an unlink undone when the request fails")
		})
	})
}

func TestLeadershipTextFilterSeesOnlySummaries(t *testing.T) {
	h := newHarness(t)
	in := h.createIncident(h.lena, nil)
	_, err := h.svc.PutRCA(h.ctx, h.lena, in.Key, 0, RCA{ProblemStatement: "zanzibarword leaked in the statement",
		RootCauses: []RootCause{rootCause(Product, "bug", "The dedup job dropped reports.")}}, auth.Meta{})
	require.NoError(t, err)
	got, _, err := h.svc.ListIncidents(h.ctx, h.leo, IncidentQuery{Text: "zanzibarword", Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, got, "leadership cannot probe text it may not read")
	got, _, err = h.svc.ListIncidents(h.ctx, h.lena, IncidentQuery{Text: "zanzibarword", Limit: 10})
	require.NoError(t, err)
	assert.Len(t, got, 1)
}

func TestPutRCAValidatesAgainstTaxonomy(t *testing.T) {
	h := newHarness(t)
	in := h.createIncident(h.lena, nil)
	valid := rootCause(Product, "bug", "The dedup job dropped reports.")
	tests := []struct {
		name  string
		rca   RCA
		field string
	}{
		{"missing_problem_statement", RCA{RootCauses: []RootCause{valid}}, "problem_statement"},
		{"missing_category", RCA{ProblemStatement: "p", RootCauses: []RootCause{rootCause("", "bug", "d")}}, "root_causes[0].category"},
		{"unknown_category", RCA{ProblemStatement: "p", RootCauses: []RootCause{rootCause("people", "bug", "d")}}, "root_causes[0].category"},
		{"subcategory_of_another_category", RCA{ProblemStatement: "p", RootCauses: []RootCause{valid, rootCause(Product, "human_error", "d")}}, "root_causes[1].subcategory"},
		{"missing_subcategory", RCA{ProblemStatement: "p", RootCauses: []RootCause{rootCause(Policy, "", "d")}}, "root_causes[0].subcategory"},
		{"missing_description", RCA{ProblemStatement: "p", RootCauses: []RootCause{rootCause(Process, "handoff", "")}}, "root_causes[0].description"},
		{"bad_vendor", RCA{ProblemStatement: "p", RootCauses: []RootCause{{Category: Process, Subcategory: "vendor_execution", Description: "d", Vendor: "Acme Inc"}}}, "root_causes[0].vendor"},
		{"six_whys", RCA{ProblemStatement: "p", RootCauses: []RootCause{{Category: Process, Subcategory: "handoff", Description: "d", FiveWhys: []string{"1", "2", "3", "4", "5", "6"}}}}, "root_causes[0].five_whys"},
		{"gap_without_why", RCA{ProblemStatement: "p", MitigationGaps: []MitigationGap{{Mitigation: "m"}}}, "mitigation_gaps[0].why"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.PutRCA(h.ctx, h.lena, in.Key, 0, tt.rca, auth.Meta{})
			assert.Contains(t, errstest.Fields(t, err), tt.field)
		})
	}
	assert.Equal(t, in.Version, h.getIncident(h.lena, in.Key).Version, "no invalid RCA is stored")

	t.Run("follows_the_configured_taxonomy", func(t *testing.T) {
		tax := cases.DefaultTaxonomy()
		tax.Subcategories["product"] = append(tax.Subcategories["product"], "ranking")
		_, _, err := h.cases.SetTaxonomy(h.ctx, h.admin, tax, 0, auth.Meta{})
		require.NoError(t, err)
		got, err := h.svc.PutRCA(h.ctx, h.lena, in.Key, 0, RCA{ProblemStatement: "p", RootCauses: []RootCause{rootCause(Product, "ranking", "Ranking boosted scam listings.")}}, auth.Meta{})
		require.NoError(t, err)
		assert.Equal(t, "ranking", got.RCA.RootCauses[0].Subcategory)
	})
}

func TestPutRCAStoresSuggestionBesideHumanCategory(t *testing.T) {
	h := newHarness(t)
	in := h.createIncident(h.ivy, nil)
	rcs := []RootCause{
		rootCause(Product, "model_quality", "The spam classifier threshold was too low after retraining."),
		rootCause(Policy, "ambiguous_policy", "Reviewers read the refund guidance in two different ways."),
	}
	want := make([]Suggestion, len(rcs))
	for i, rc := range rcs {
		var err error
		want[i], err = h.svc.Classify(h.ctx, h.ivy, rc.Description)
		require.NoError(t, err)
	}
	got, err := h.svc.PutRCA(h.ctx, h.ivy, in.Key, in.Version, RCA{ProblemStatement: "Spam reached users.", RootCauses: rcs,
		ContributingFactors: []string{"Friday deploy"}, MitigationGaps: []MitigationGap{{Mitigation: "Manual sweep", Why: "Too slow"}}}, auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, in.Version+1, got.Version)
	assert.Equal(t, "ivy", got.RCA.UpdatedBy)

	stored := h.getIncident(h.lena, in.Key)
	require.Len(t, stored.RCA.RootCauses, 2)
	for i, rc := range stored.RCA.RootCauses {
		assert.Equal(t, rcs[i].Category, rc.Category, "the human category is kept")
		assert.Equal(t, want[i].Category, rc.SuggestedCategory)
		assert.InDelta(t, want[i].Confidence, rc.SuggestionConfidence, 1e-12)
		assert.Greater(t, rc.SuggestionConfidence, 0.0)
		assert.LessOrEqual(t, rc.SuggestionConfidence, 1.0)
	}
	assert.Equal(t, []string{"Friday deploy"}, stored.RCA.ContributingFactors)
	assert.Equal(t, []MitigationGap{{Mitigation: "Manual sweep", Why: "Too slow"}}, stored.RCA.MitigationGaps)
}

func TestPutRCAConflictsAndPreconditions(t *testing.T) {
	h := newHarness(t)
	in := h.putRCA(h.createIncident(h.lena, nil).Key,
		rootCause(Product, "bug", "The dedup job dropped reports."),
		rootCause(Process, "handoff", "The night shift did not hand over the alert."))

	t.Run("stale_if_match", func(t *testing.T) {
		_, err := h.svc.PutRCA(h.ctx, h.lena, in.Key, in.Version-1, RCA{ProblemStatement: "p"}, auth.Meta{})
		errstest.Require(t, err, errs.PreconditionFailed)
	})

	t.Run("removing_a_root_cause_an_action_item_addresses", func(t *testing.T) {
		item := h.addItem(in.Key, NewActionItem{Title: "Write a handover checklist", Kind: "process", RootCause: ptr(1)})
		_, err := h.svc.PutRCA(h.ctx, h.lena, in.Key, 0, RCA{ProblemStatement: "p", RootCauses: []RootCause{rootCause(Product, "bug", "The dedup job dropped reports.")}}, auth.Meta{})
		e := errstest.Require(t, err, errs.Conflict)
		assert.Contains(t, e.Message, "action item 1")
		assert.Len(t, h.getIncident(h.lena, in.Key).RCA.RootCauses, 2, "the RCA is unchanged")

		// Re-pointed, the item no longer blocks the removal.
		_, err = h.svc.UpdateActionItem(h.ctx, h.lena, in.Key, item.N, 0, ActionItemPatch{RootCause: ptr(0)}, auth.Meta{})
		require.NoError(t, err)
		got, err := h.svc.PutRCA(h.ctx, h.lena, in.Key, 0, RCA{ProblemStatement: "p", RootCauses: []RootCause{rootCause(Product, "bug", "The dedup job dropped reports.")}}, auth.Meta{})
		require.NoError(t, err)
		assert.Len(t, got.RCA.RootCauses, 1)
	})

	t.Run("roles", func(t *testing.T) {
		r := RCA{ProblemStatement: "p"}
		_, err := h.svc.PutRCA(h.ctx, h.leo, in.Key, 0, r, auth.Meta{})
		errstest.Require(t, err, errs.Forbidden)
		_, err = h.svc.PutRCA(h.ctx, h.vic, in.Key, 0, r, auth.Meta{})
		errstest.Require(t, err, errs.NotFound)
	})
}

func TestStandaloneIssueHasRCAButNoPostmortem(t *testing.T) {
	h := newHarness(t)
	issue := h.createIncident(h.ivy, func(n *NewIncident) {
		n.Kind, n.Title, n.Severity = KindIssue, "Error spike in the acme vendor queue", "sev1"
		n.Status, n.ResolvedAt = Resolved, ptr(t0)
	})
	assert.Equal(t, KindIssue, issue.Kind)
	got, err := h.svc.PutRCA(h.ctx, h.ivy, issue.Key, 0, RCA{ProblemStatement: "Errors spiked.",
		RootCauses: []RootCause{{Category: Process, Subcategory: "vendor_execution", Vendor: "acme", Description: "The vendor skipped the retry step."}}}, auth.Meta{})
	require.NoError(t, err)
	require.Len(t, got.RCA.RootCauses, 1)
	assert.Equal(t, "acme", got.RCA.RootCauses[0].Vendor)

	_, _, err = h.svc.PutPostmortem(h.ctx, h.ivy, issue.Key, 0, validContent("Summary"), auth.Meta{})
	errstest.Require(t, err, errs.Conflict)
	_, err = h.svc.GetPostmortem(h.ctx, h.lena, issue.Key)
	errstest.Require(t, err, errs.NotFound)
	assert.Nil(t, got.PostmortemDue, "an issue owes no postmortem, even at sev1")
	h.clock.Advance(30 * day)
	assert.False(t, h.getIncident(h.lena, issue.Key).PostmortemLate)
}

func TestActionItemOverdue(t *testing.T) {
	h := newHarness(t)
	in := h.createIncident(h.lena, nil)
	due := t0.Add(2 * day)
	for _, title := range []string{"open", "in_progress", "done", "wont_do"} {
		h.addItem(in.Key, NewActionItem{Title: title, Due: &due})
	}
	h.addItem(in.Key, NewActionItem{Title: "later", Due: ptr(t0.Add(10 * day))})
	h.addItem(in.Key, NewActionItem{Title: "no due"})

	for _, a := range h.getIncident(h.lena, in.Key).ActionItems {
		assert.False(t, a.Overdue, "%s is not overdue before its due time", a.Title)
	}

	h.setItemStatus(in.Key, 2, ItemInProgress)
	h.setItemStatus(in.Key, 3, ItemDone)
	h.setItemStatus(in.Key, 4, ItemWontDo)
	h.clock.Advance(3 * day)

	want := map[string]bool{"open": true, "in_progress": true, "done": false, "wont_do": false, "later": false, "no due": false}
	items := h.getIncident(h.lena, in.Key).ActionItems
	require.Len(t, items, len(want))
	for _, a := range items {
		assert.Equal(t, want[a.Title], a.Overdue, a.Title)
	}

	// Closing an overdue item clears the flag at once.
	done := h.setItemStatus(in.Key, 1, ItemDone)
	assert.False(t, done.Overdue)
	reopened := h.setItemStatus(in.Key, 1, ItemOpen)
	assert.True(t, reopened.Overdue)

	// An item added with a due time already past is overdue from the start.
	late := h.addItem(in.Key, NewActionItem{Title: "already late", Due: ptr(h.clock.Now().Add(-time.Hour))})
	assert.True(t, late.Overdue)
}

func TestActionItemDoneStampsDoneAt(t *testing.T) {
	h := newHarness(t)
	in := h.createIncident(h.lena, nil)
	a := h.addItem(in.Key, NewActionItem{Title: "Add an owner to every job"})
	assert.Equal(t, ItemOpen, a.Status)
	assert.Equal(t, 1, a.N)
	assert.Equal(t, t0, a.CreatedAt)
	assert.Equal(t, "lena", a.CreatedBy)
	assert.Nil(t, a.DoneAt)

	h.clock.Advance(time.Hour)
	a = h.setItemStatus(in.Key, 1, ItemDone)
	require.NotNil(t, a.DoneAt)
	assert.Equal(t, t0.Add(time.Hour), *a.DoneAt)
	stored := h.getIncident(h.lena, in.Key).ActionItems[0]
	require.NotNil(t, stored.DoneAt)
	assert.True(t, t0.Add(time.Hour).Equal(*stored.DoneAt))

	a = h.setItemStatus(in.Key, 1, ItemOpen)
	assert.Nil(t, a.DoneAt)
	assert.Nil(t, h.getIncident(h.lena, in.Key).ActionItems[0].DoneAt, "moving back to open clears done_at")

	h.clock.Advance(time.Hour)
	a = h.setItemStatus(in.Key, 1, ItemDone)
	require.NotNil(t, a.DoneAt)
	assert.Equal(t, t0.Add(2*time.Hour), *a.DoneAt, "done again: stamped anew")
}

func TestActionItemValidation(t *testing.T) {
	h := newHarness(t)
	in := h.putRCA(h.createIncident(h.lena, nil).Key, rootCause(Product, "bug", "The dedup job dropped reports."))

	add := []struct {
		name  string
		in    NewActionItem
		field string
	}{
		{"root_cause_past_the_end", NewActionItem{Title: "t", Owner: "lena", Kind: "prevent", RootCause: ptr(1)}, "root_cause"},
		{"negative_root_cause", NewActionItem{Title: "t", Owner: "lena", Kind: "prevent", RootCause: ptr(-1)}, "root_cause"},
		{"missing_title", NewActionItem{Owner: "lena", Kind: "prevent"}, "title"},
		{"missing_owner", NewActionItem{Title: "t", Kind: "prevent"}, "owner"},
		{"bad_kind", NewActionItem{Title: "t", Owner: "lena", Kind: "fix"}, "kind"},
	}
	for _, tt := range add {
		t.Run("add_"+tt.name, func(t *testing.T) {
			_, err := h.svc.AddActionItem(h.ctx, h.lena, in.Key, tt.in, auth.Meta{})
			assert.Equal(t, []string{tt.field}, errstest.Fields(t, err))
		})
	}
	assert.Empty(t, h.getIncident(h.lena, in.Key).ActionItems)

	ok := h.addItem(in.Key, NewActionItem{Title: "t", RootCause: ptr(0)})
	require.NotNil(t, ok.RootCause)
	assert.Equal(t, 0, *ok.RootCause)

	t.Run("update_bad_status", func(t *testing.T) {
		_, err := h.svc.UpdateActionItem(h.ctx, h.lena, in.Key, 1, 0, ActionItemPatch{Status: ptr(ActionItemStatus("closed"))}, auth.Meta{})
		assert.Equal(t, []string{"status"}, errstest.Fields(t, err))
	})
	t.Run("update_root_cause_past_the_end", func(t *testing.T) {
		_, err := h.svc.UpdateActionItem(h.ctx, h.lena, in.Key, 1, 0, ActionItemPatch{RootCause: ptr(3)}, auth.Meta{})
		assert.Equal(t, []string{"root_cause"}, errstest.Fields(t, err))
	})
	t.Run("update_unknown_item", func(t *testing.T) {
		_, err := h.svc.UpdateActionItem(h.ctx, h.lena, in.Key, 9, 0, ActionItemPatch{Title: ptr("x")}, auth.Meta{})
		errstest.Require(t, err, errs.NotFound)
	})
	t.Run("update_stale_if_match", func(t *testing.T) {
		cur := h.getIncident(h.lena, in.Key)
		_, err := h.svc.UpdateActionItem(h.ctx, h.lena, in.Key, 1, cur.Version-1, ActionItemPatch{Title: ptr("x")}, auth.Meta{})
		errstest.Require(t, err, errs.PreconditionFailed)
	})
	assert.Equal(t, "t", h.getIncident(h.lena, in.Key).ActionItems[0].Title)
}

func TestActionItemPermissions(t *testing.T) {
	h := newHarness(t)
	in := h.createIncident(h.lena, nil)
	item := NewActionItem{Title: "Add an owner", Owner: "ivy", Kind: "process"}

	a, err := h.svc.AddActionItem(h.ctx, h.ivy, in.Key, item, auth.Meta{})
	require.NoError(t, err, "an investigator may add action items")
	assert.Equal(t, "ivy", a.CreatedBy)

	_, err = h.svc.AddActionItem(h.ctx, h.leo, in.Key, item, auth.Meta{})
	errstest.Require(t, err, errs.Forbidden)
	_, err = h.svc.UpdateActionItem(h.ctx, h.leo, in.Key, 1, 0, ActionItemPatch{Status: ptr(ItemDone)}, auth.Meta{})
	errstest.Require(t, err, errs.Forbidden)
	_, err = h.svc.AddActionItem(h.ctx, h.vic, in.Key, item, auth.Meta{})
	errstest.Require(t, err, errs.NotFound)

	denied := h.events("action_item.create")
	require.Len(t, denied, 2)
	assert.Equal(t, "leo", denied[1].User)
	assert.Equal(t, auth.OutcomeDenied, denied[1].Outcome)
	assert.Len(t, h.getIncident(h.lena, in.Key).ActionItems, 1)
}
