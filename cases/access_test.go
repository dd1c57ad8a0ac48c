package cases

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

// caseKind is one shape of case the access matrix covers. Every case is
// assigned to asa, an investigator of another team.
type caseKind struct {
	name string
	edit func(*NewCase)
}

var caseKinds = []caseKind{
	{"team_fraud_case", func(n *NewCase) {}},
	{"restricted_team_case", func(n *NewCase) { n.Restricted = true }},
	{"vendor_acme_case", func(n *NewCase) { n.Team, n.Vendor = "", "acme" }},
	{"restricted_vendor_acme_case", func(n *NewCase) { n.Team, n.Vendor, n.Restricted = "", "acme", true }},
}

// accessCase is one role of the matrix and the case kinds it may read, as
// DOMAIN.md's roles table says (written out, not derived from auth.Can).
type accessCase struct {
	name  string
	user  func(h *harness) *auth.User
	reads []string
}

var accessMatrix = []accessCase{
	{"admin", func(h *harness) *auth.User { return h.admin }, []string{"team_fraud_case", "restricted_team_case", "vendor_acme_case", "restricted_vendor_acme_case"}},
	{"lead", func(h *harness) *auth.User { return h.lena }, []string{"team_fraud_case", "restricted_team_case", "vendor_acme_case", "restricted_vendor_acme_case"}},
	{"investigator_same_team", func(h *harness) *auth.User { return h.ivy }, []string{"team_fraud_case"}},
	{"investigator_other_team", func(h *harness) *auth.User { return h.otto }, nil},
	{"investigator_assigned", func(h *harness) *auth.User { return h.asa }, []string{"team_fraud_case", "restricted_team_case", "vendor_acme_case", "restricted_vendor_acme_case"}},
	{"vendor_agent_same_vendor", func(h *harness) *auth.User { return h.vic }, []string{"vendor_acme_case"}},
	{"vendor_agent_other_vendor", func(h *harness) *auth.User { return h.vera }, nil},
	{"leadership", func(h *harness) *auth.User { return h.leo }, nil},
}

// accessCases files one case of every kind, assigned to asa.
func (h *harness) accessCases() map[string]Case {
	h.t.Helper()
	out := map[string]Case{}
	for _, k := range caseKinds {
		out[k.name] = h.create(h.lena, func(n *NewCase) { k.edit(n); n.Assignee = "asa" })
	}
	return out
}

// TestCaseAccess runs every operation on a case for every role and case
// kind: where the role may not read, the answer is NotFound, exactly as for
// a case that does not exist; where it may, the operation works.
func TestCaseAccess(t *testing.T) {
	h := newHarness(t)
	all := h.accessCases()
	_, missing := h.svc.Get(h.ctx, h.lena, "CF-2026-999", Meta{})
	errstest.Require(t, missing, errs.NotFound)

	ops := []struct {
		name string
		run  func(u *auth.User, c Case) error
	}{
		{"get", func(u *auth.User, c Case) error {
			got, err := h.svc.Get(h.ctx, u, c.Key, Meta{})
			if err == nil && got.ID != c.ID {
				return fmt.Errorf("read the wrong case")
			}
			return err
		}},
		{"get_by_id", func(u *auth.User, c Case) error { _, err := h.svc.Get(h.ctx, u, c.ID, Meta{}); return err }},
		{"timeline", func(u *auth.User, c Case) error { _, _, err := h.svc.Timeline(h.ctx, u, c.Key, 0, 10); return err }},
		{"update", func(u *auth.User, c Case) error {
			_, err := h.svc.Update(h.ctx, u, c.Key, 0, Patch{Summary: ptr("checked by " + u.Username)}, Meta{})
			return err
		}},
		{"transition", func(u *auth.User, c Case) error {
			// The next move that needs no precondition: new → triage →
			// investigating ⇄ pending_review.
			cur, err := h.store.Case(h.ctx, c.ID)
			if err != nil {
				return err
			}
			next := map[Status]Status{StatusNew: StatusTriage, StatusTriage: StatusInvestigating,
				StatusInvestigating: StatusPendingReview, StatusPendingReview: StatusInvestigating}[cur.Status]
			_, err = h.svc.Transition(h.ctx, u, c.Key, 0, next, "", Meta{})
			return err
		}},
		{"add_note", func(u *auth.User, c Case) error {
			_, err := h.svc.AddNote(h.ctx, u, c.Key, "looked", Meta{})
			return err
		}},
		{"add_evidence", func(u *auth.User, c Case) error {
			_, err := h.svc.AddEvidence(h.ctx, u, c.Key, NewEvidence{Kind: "other", Description: "screenshot"}, 1<<20, Meta{})
			return err
		}},
		{"evidence_file", func(u *auth.User, c Case) error {
			var buf bytes.Buffer
			err := h.svc.EvidenceFile(h.ctx, u, c.Key, 1, Meta{}, func(Evidence) io.Writer { return &buf })
			if err == nil && buf.String() != "seed file" {
				return fmt.Errorf("read %q", buf.String())
			}
			return err
		}},
		{"propose", func(u *auth.User, c Case) error {
			_, err := h.svc.Propose(h.ctx, u, c.Key, Proposal{Action: Warning, Reason: "first offence"}, Meta{})
			return err
		}},
		{"recommend", func(u *auth.User, c Case) error { _, err := h.svc.Recommend(h.ctx, u, c.Key, ""); return err }},
	}

	// Evidence 1 of every case has a file, for evidence_file.
	for _, c := range all {
		_, err := h.svc.AddEvidence(h.ctx, h.lena, c.Key, NewEvidence{Kind: "other", Description: "seed",
			File: &File{Name: "seed.txt", Data: []byte("seed file")}}, 1<<20, Meta{})
		require.NoError(t, err)
	}

	for _, role := range accessMatrix {
		u := role.user(h)
		for _, kind := range caseKinds {
			c := all[kind.name]
			reads := slices.Contains(role.reads, kind.name)
			verb := "may_not"
			if reads {
				verb = "may"
			}
			t.Run(role.name+"_"+verb+"_use_"+kind.name, func(t *testing.T) {
				require.Equal(t, reads, auth.Can(u, auth.ReadCase, c.Resource()), "auth.Can disagrees with DOMAIN.md")
				for _, op := range ops {
					err := op.run(u, c)
					if !reads {
						require.Error(t, err, op.name)
						e := errstest.Require(t, err, errs.NotFound)
						assert.Equal(t, errstest.As(t, missing).Message, e.Message, "%s: a hidden case reads like a missing one", op.name)
						continue
					}
					assert.NoError(t, err, op.name)
				}
			})
		}
	}
	t.Run("no_role_may_read_but_not_edit_a_case", func(t *testing.T) {
		h := h.with(t)
		// So no case operation answers Forbidden for access alone; the
		// Forbidden answers are for lead-only steps (see the workflow,
		// update and enforcement tests).
		for _, role := range accessMatrix {
			for _, c := range all {
				u := role.user(h)
				assert.Equal(t, auth.Can(u, auth.ReadCase, c.Resource()), auth.Can(u, auth.EditCase, c.Resource()), role.name)
			}
		}
	})
}

func TestRestrictedReadsAreAudited(t *testing.T) {
	h := newHarness(t)
	open := h.create(h.lena, nil)
	restricted := h.create(h.lena, func(n *NewCase) { n.Restricted = true })

	h.get(h.lena, open.Key)
	assert.Empty(t, h.events("case.read_restricted"), "reading an unrestricted case is not a restricted read")

	_, err := h.svc.Get(h.ctx, h.lars, restricted.Key, Meta{IP: "10.0.0.7", RequestID: "req-1"})
	require.NoError(t, err)
	ev := h.events("case.read_restricted")
	require.Len(t, ev, 1)
	assert.Equal(t, "lars", ev[0].User)
	assert.Equal(t, auth.RoleLead, ev[0].Role)
	assert.Equal(t, auth.Entity{Type: "case", ID: restricted.Key}, ev[0].Entity)
	assert.Equal(t, "10.0.0.7", ev[0].IP)
	assert.Equal(t, "req-1", ev[0].RequestID)
	assert.Equal(t, auth.OutcomeSuccess, ev[0].Outcome)

	_, err = h.svc.Get(h.ctx, h.ivy, restricted.Key, Meta{})
	errstest.Require(t, err, errs.NotFound)
	assert.Len(t, h.events("case.read_restricted"), 1, "a refused read is no restricted read")
}
