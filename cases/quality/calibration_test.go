package quality

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

// Reference answers of the four acme cases.
var (
	refSuspend  = Answer{Verdict: cases.VerdictViolation, Action: cases.TemporarySuspension, PolicyArea: "fraud_scam"}
	refNoAction = Answer{Verdict: cases.VerdictViolation, PolicyArea: "spam"}
	refClean    = Answer{Verdict: cases.VerdictNoViolation}
	refUnsure   = Answer{Verdict: cases.VerdictInsufficientEvidence}
)

// acmeSet builds a set of the four acme cases (the first by key, the rest
// by id) as the lead.
func (h *calHarness) acmeSet() CalibrationSet {
	h.t.Helper()
	set, err := h.svc.CreateCalibrationSet(h.ctx, h.lena, "Fraud basics", []NewCalibrationItem{
		{Case: h.acme[0].Key, Answer: refSuspend},
		{Case: h.acme[1].ID, Answer: refNoAction},
		{Case: h.acme[2].ID, Answer: refClean},
		{Case: h.acme[3].ID, Answer: refUnsure},
	}, auth.Meta{})
	require.NoError(h.t, err)
	return set
}

// countingLister counts the lists it serves.
type countingLister struct {
	UserLister
	calls int
}

func (l *countingLister) ListUsers(ctx context.Context, by *auth.User, limit int, after string, m auth.Meta) ([]auth.User, string, int64, error) {
	l.calls++
	return l.UserLister.ListUsers(ctx, by, limit, after, m)
}

// answers gives the reference answers with the first one's action
// changed to a permanent ban: 3 of 4 correct.
func (h *calHarness) answers(allRight bool) []GivenAnswer {
	first := refSuspend
	if !allRight {
		first.Action = cases.PermanentBan
	}
	return []GivenAnswer{
		{CaseID: h.acme[0].ID, Answer: first},
		{CaseID: h.acme[1].ID, Answer: refNoAction},
		{CaseID: h.acme[2].Key, Answer: refClean}, // by key is fine too
		{CaseID: h.acme[3].ID, Answer: refUnsure},
	}
}

func TestCalibrationCreate(t *testing.T) {
	h := newCalHarness(t)

	t.Run("lead_creates_set_resolving_ids_and_keys", func(t *testing.T) {
		set := h.acmeSet()
		require.Len(t, set.Items, 4)
		assert.Len(t, set.ID, 24)
		assert.Equal(t, "Fraud basics", set.Name)
		assert.Equal(t, "lena", set.CreatedBy)
		assert.Equal(t, int64(1), set.Version)
		assert.Empty(t, set.Assignments)
		for i, it := range set.Items {
			assert.Equal(t, h.acme[i].ID, it.CaseID)
			assert.Equal(t, h.acme[i].Key, it.CaseKey)
		}
		assert.Equal(t, refSuspend, set.Items[0].Answer)

		got, err := h.svc.GetCalibrationSet(h.ctx, h.lena, set.ID)
		require.NoError(t, err)
		assert.Equal(t, set.Items, got.Items)
		ev := h.audited("qa.calibration.create")
		require.NotEmpty(t, ev)
		assert.Equal(t, auth.OutcomeSuccess, ev[0].Outcome)
		assert.Equal(t, set.ID, ev[0].Entity.ID)
	})

	t.Run("each_bad_field_is_named", func(t *testing.T) {
		ok := func(c string) NewCalibrationItem { return NewCalibrationItem{Case: c, Answer: refClean} }
		many := make([]NewCalibrationItem, 201)
		for i := range many {
			many[i] = ok(h.acme[0].ID)
		}
		tests := []struct {
			name  string
			set   string
			items []NewCalibrationItem
			field string
		}{
			{"blank_name", " ", []NewCalibrationItem{ok(h.acme[0].ID)}, "name"},
			{"long_name", strings.Repeat("n", 201), []NewCalibrationItem{ok(h.acme[0].ID)}, "name"},
			{"no_items", "x", nil, "items"},
			{"too_many_items", "x", many, "items"},
			{"blank_case", "x", []NewCalibrationItem{ok("")}, "items[0].case"},
			{"unknown_case", "x", []NewCalibrationItem{ok("CF-2026-999")}, "items[0].case"},
			{"malformed_case", "x", []NewCalibrationItem{ok("nope")}, "items[0].case"},
			{"same_case_twice_by_id_and_key", "x", []NewCalibrationItem{ok(h.acme[0].ID), ok(h.acme[0].Key)}, "items[1].case"},
			{"unknown_verdict", "x", []NewCalibrationItem{{Case: h.acme[0].ID, Answer: Answer{Verdict: "guilty"}}}, "items[0].verdict"},
			{"unknown_action", "x", []NewCalibrationItem{{Case: h.acme[0].ID,
				Answer: Answer{Verdict: cases.VerdictViolation, Action: "flogging", PolicyArea: "spam"}}}, "items[0].action"},
			{"action_without_violation", "x", []NewCalibrationItem{{Case: h.acme[0].ID,
				Answer: Answer{Verdict: cases.VerdictNoViolation, Action: cases.Warning}}}, "items[0].action"},
			{"violation_without_policy_area", "x", []NewCalibrationItem{{Case: h.acme[0].ID,
				Answer: Answer{Verdict: cases.VerdictViolation, Action: cases.Warning}}}, "items[0].policy_area"},
			{"unknown_policy_area", "x", []NewCalibrationItem{{Case: h.acme[0].ID,
				Answer: Answer{Verdict: cases.VerdictViolation, PolicyArea: "jaywalking"}}}, "items[0].policy_area"},
			{"policy_area_without_violation", "x", []NewCalibrationItem{{Case: h.acme[0].ID,
				Answer: Answer{Verdict: cases.VerdictInsufficientEvidence, PolicyArea: "spam"}}}, "items[0].policy_area"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.svc.CreateCalibrationSet(h.ctx, h.lena, tc.set, tc.items, auth.Meta{})
				assert.Contains(t, errstest.Fields(t, err), tc.field)
			})
		}
	})

	t.Run("all_bad_fields_named_at_once", func(t *testing.T) {
		_, err := h.svc.CreateCalibrationSet(h.ctx, h.lena, "", []NewCalibrationItem{
			{Case: "CF-2026-999", Answer: refClean},
			{Case: h.acme[1].ID, Answer: Answer{Verdict: "maybe"}},
		}, auth.Meta{})
		assert.ElementsMatch(t, []string{"name", "items[0].case", "items[1].verdict"}, errstest.Fields(t, err))
	})

	t.Run("non_reviewers_are_refused_and_audited", func(t *testing.T) {
		for _, u := range []*auth.User{h.ivy, h.vic, h.leo} {
			_, err := h.svc.CreateCalibrationSet(h.ctx, u, "Mine", []NewCalibrationItem{{Case: h.acme[0].ID, Answer: refClean}}, auth.Meta{})
			errstest.Require(t, err, errs.Forbidden)
		}
		var denied []string
		for _, ev := range h.audited("qa.calibration.create") {
			if ev.Outcome == auth.OutcomeDenied {
				denied = append(denied, ev.User)
			}
		}
		assert.ElementsMatch(t, []string{"ivy", "vic", "leo"}, denied)
	})

	t.Run("admin_may_create", func(t *testing.T) {
		_, err := h.svc.CreateCalibrationSet(h.ctx, h.admin, "Admin's", []NewCalibrationItem{{Case: h.other.Key, Answer: refClean}}, auth.Meta{})
		require.NoError(t, err)
	})

	t.Run("refused_creates_store_nothing", func(t *testing.T) {
		sets, err := h.svc.ListCalibrationSets(h.ctx, h.lena)
		require.NoError(t, err)
		assert.Len(t, sets, 2) // the two created above
	})
}

func TestCalibrationAssign(t *testing.T) {
	h := newCalHarness(t)

	t.Run("vendor_expands_to_its_enabled_agents", func(t *testing.T) {
		set := h.acmeSet()
		got, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, set.ID, nil, "acme", auth.Meta{})
		require.NoError(t, err)
		require.Len(t, got.Assignments, 2)
		byUser := map[string]Assignment{}
		for _, a := range got.Assignments {
			byUser[a.User] = a
		}
		require.Contains(t, byUser, "vic")
		require.Contains(t, byUser, "val")
		assert.Equal(t, "acme", byUser["vic"].Vendor)
		assert.Equal(t, "fraud", byUser["vic"].Team)
		assert.Equal(t, calStart, byUser["vic"].AssignedAt)
		assert.Nil(t, byUser["vic"].SubmittedAt)
		assert.Nil(t, byUser["vic"].Score)
		assert.Equal(t, int64(2), got.Version)
		ev := h.audited("qa.calibration.assign")
		require.NotEmpty(t, ev)
		assert.Equal(t, auth.OutcomeSuccess, ev[0].Outcome)
	})

	t.Run("assigning_twice_is_idempotent", func(t *testing.T) {
		set := h.acmeSet()
		first, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, set.ID, []string{"vic", "vic"}, "", auth.Meta{})
		require.NoError(t, err)
		require.Len(t, first.Assignments, 1)
		h.clock.Advance(time.Hour)
		again, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, set.ID, []string{"vic"}, "acme", auth.Meta{})
		require.NoError(t, err)
		require.Len(t, again.Assignments, 2) // val joins; vic stays as he was
		assert.Equal(t, first.Assignments[0], again.Assignments[0])
		same, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, set.ID, []string{"val"}, "acme", auth.Meta{})
		require.NoError(t, err)
		assert.Equal(t, again.Version, same.Version, "nothing new, nothing written")
	})

	t.Run("concurrent_assignments_all_land", func(t *testing.T) {
		set := h.acmeSet()
		var wg sync.WaitGroup
		errc := make(chan error, 3)
		for _, name := range []string{"vic", "val", "ivy"} {
			wg.Go(func() {
				_, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, set.ID, []string{name}, "", auth.Meta{})
				errc <- err
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			require.NoError(t, err)
		}
		got, err := h.svc.GetCalibrationSet(h.ctx, h.lena, set.ID)
		require.NoError(t, err)
		assert.Len(t, got.Assignments, 3)
		assert.Equal(t, int64(4), got.Version)
	})

	t.Run("users_and_vendor_together", func(t *testing.T) {
		set := h.acmeSet()
		got, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, set.ID, []string{"ivy"}, "acme", auth.Meta{})
		require.NoError(t, err)
		var names []string
		for _, a := range got.Assignments {
			names = append(names, a.User)
		}
		assert.ElementsMatch(t, []string{"ivy", "vic", "val"}, names)
	})

	t.Run("refused_when_an_assignee_cannot_read_a_case", func(t *testing.T) {
		mixed, err := h.svc.CreateCalibrationSet(h.ctx, h.lena, "Mixed", []NewCalibrationItem{
			{Case: h.acme[0].ID, Answer: refClean}, {Case: h.other.ID, Answer: refClean},
		}, auth.Meta{})
		require.NoError(t, err)
		restricted, err := h.svc.CreateCalibrationSet(h.ctx, h.lena, "Restricted", []NewCalibrationItem{
			{Case: h.acme[0].ID, Answer: refClean}, {Case: h.hidden.ID, Answer: refClean},
		}, auth.Meta{})
		require.NoError(t, err)
		tests := []struct {
			name    string
			set     CalibrationSet
			users   []string
			vendor  string
			field   string
			message []string
		}{
			{"another_vendors_case", mixed, []string{"vic"}, "", "users[0]", []string{"vic", h.other.Key}},
			{"another_vendors_case_for_the_other_vendor", mixed, nil, "other", "vendor", []string{"vera", h.acme[0].Key}},
			{"restricted_case_for_vendor_agents", restricted, nil, "acme", "vendor", []string{"val", h.hidden.Key}},
			{"another_teams_case", mixed, []string{"ivy", "otto"}, "", "users[1]", []string{"otto", h.acme[0].Key}},
			{"leadership_reads_no_cases", mixed, []string{"leo"}, "", "users[0]", []string{"leo"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, tc.set.ID, tc.users, tc.vendor, auth.Meta{})
				e := errstest.Require(t, err, errs.Invalid)
				var msgs []string
				for _, f := range e.Fields {
					if f.Field == tc.field {
						msgs = append(msgs, f.Message)
					}
				}
				require.NotEmpty(t, msgs, "fields: %v", e.Fields)
				for _, want := range tc.message {
					assert.Contains(t, strings.Join(msgs, "\n"), want)
				}
				stored, err := h.svc.GetCalibrationSet(h.ctx, h.lena, tc.set.ID)
				require.NoError(t, err)
				assert.Empty(t, stored.Assignments, "nothing is assigned")
				assert.Equal(t, int64(1), stored.Version)
			})
		}
	})

	t.Run("bad_input_is_named", func(t *testing.T) {
		set := h.acmeSet()
		tests := []struct {
			name   string
			users  []string
			vendor string
			field  string
		}{
			{"nobody", nil, "", "users"},
			{"unknown_user", []string{"nobody-here"}, "", "users[0]"},
			{"blank_user", []string{""}, "", "users[0]"},
			{"disabled_user", []string{"vince"}, "", "users[0]"},
			{"vendor_without_agents", nil, "ghost", "vendor"},
			{"malformed_vendor", nil, "Not A Vendor", "vendor"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, set.ID, tc.users, tc.vendor, auth.Meta{})
				assert.Contains(t, errstest.Fields(t, err), tc.field)
			})
		}
	})

	t.Run("use_user_list_replaces_the_list_and_keeps_lookups", func(t *testing.T) {
		set := h.acmeSet()
		l := &countingLister{UserLister: h.auth}
		h.svc.UseUserList(l)
		got, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, set.ID, []string{"ivy"}, "acme", auth.Meta{})
		require.NoError(t, err)
		assert.Len(t, got.Assignments, 3)
		assert.Positive(t, l.calls)
	})

	t.Run("unknown_set_is_not_found", func(t *testing.T) {
		_, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, "0123456789abcdef01234567", []string{"vic"}, "", auth.Meta{})
		errstest.Require(t, err, errs.NotFound)
	})

	t.Run("non_reviewers_are_refused_and_audited", func(t *testing.T) {
		set := h.acmeSet()
		for _, u := range []*auth.User{h.ivy, h.vic, h.leo} {
			_, err := h.svc.AssignCalibrationSet(h.ctx, u, set.ID, []string{u.Username}, "", auth.Meta{})
			errstest.Require(t, err, errs.Forbidden)
		}
		denied := 0
		for _, ev := range h.audited("qa.calibration.assign") {
			if ev.Outcome == auth.OutcomeDenied && ev.Entity.ID == set.ID {
				denied++
			}
		}
		assert.Equal(t, 3, denied)
	})
}

func TestCalibrationBlindView(t *testing.T) {
	h := newCalHarness(t)
	set := h.acmeSet()
	_, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, set.ID, []string{"ivy"}, "acme", auth.Meta{})
	require.NoError(t, err)
	_, err = h.svc.SubmitCalibrationAnswers(h.ctx, h.val, set.ID, h.answers(true), auth.Meta{})
	require.NoError(t, err)

	// Quoted, so that no random case id can contain them by chance.
	reference := []string{`"verdict"`, `"violation"`, `"no_violation"`, `"insufficient_evidence"`, `"temporary_suspension"`,
		`"fraud_scam"`, `"spam"`, `"answer"`}

	t.Run("assignee_sees_cases_and_own_assignment_only", func(t *testing.T) {
		view, err := h.svc.GetCalibrationSet(h.ctx, h.vic, set.ID)
		require.NoError(t, err)
		require.Len(t, view.Items, 4)
		for i, it := range view.Items {
			assert.Equal(t, h.acme[i].ID, it.CaseID)
			assert.Equal(t, h.acme[i].Key, it.CaseKey)
			assert.Zero(t, it.Answer)
		}
		require.Len(t, view.Assignments, 1)
		assert.Equal(t, "vic", view.Assignments[0].User)
		body, err := json.Marshal(view)
		require.NoError(t, err)
		for _, s := range append(reference, `"val"`, `"ivy"`) {
			assert.NotContains(t, string(body), s)
		}
	})

	t.Run("after_submitting_the_reference_stays_hidden", func(t *testing.T) {
		got, err := h.svc.SubmitCalibrationAnswers(h.ctx, h.vic, set.ID, h.answers(false), auth.Meta{})
		require.NoError(t, err)
		view, err := h.svc.GetCalibrationSet(h.ctx, h.vic, set.ID)
		require.NoError(t, err)
		assert.Equal(t, got, view)
		require.Len(t, view.Assignments, 1)
		own := view.Assignments[0]
		require.NotNil(t, own.Score)
		assert.Equal(t, 0.75, *own.Score)
		assert.Equal(t, 3, own.Correct)
		assert.Equal(t, cases.PermanentBan, own.Answers[0].Action, "their own answers")
		body, err := json.Marshal(view)
		require.NoError(t, err)
		// vic answered a permanent ban; the reference's suspension and the
		// other assignees never show.
		for _, s := range []string{`"temporary_suspension"`, `"answer"`, `"val"`, `"ivy"`} {
			assert.NotContains(t, string(body), s)
		}
		for _, it := range view.Items {
			assert.Zero(t, it.Answer)
		}
	})

	t.Run("assignee_list_is_blind_too", func(t *testing.T) {
		_, err := h.svc.CreateCalibrationSet(h.ctx, h.lena, "Not for vic", []NewCalibrationItem{{Case: h.other.ID, Answer: refClean}}, auth.Meta{})
		require.NoError(t, err)
		sets, err := h.svc.ListCalibrationSets(h.ctx, h.ivy)
		require.NoError(t, err)
		require.Len(t, sets, 1)
		assert.Equal(t, set.ID, sets[0].ID)
		require.Len(t, sets[0].Assignments, 1)
		assert.Equal(t, "ivy", sets[0].Assignments[0].User)
		body, err := json.Marshal(sets)
		require.NoError(t, err)
		for _, s := range append(reference, `"val"`, `"vic"`) {
			assert.NotContains(t, string(body), s)
		}
	})

	t.Run("reviewers_see_everything", func(t *testing.T) {
		for _, u := range []*auth.User{h.lena, h.admin} {
			view, err := h.svc.GetCalibrationSet(h.ctx, u, set.ID)
			require.NoError(t, err)
			assert.Equal(t, refSuspend, view.Items[0].Answer)
			assert.Len(t, view.Assignments, 3)
			sets, err := h.svc.ListCalibrationSets(h.ctx, u)
			require.NoError(t, err)
			assert.Len(t, sets, 2)
		}
	})

	t.Run("others_get_not_found_and_an_empty_list", func(t *testing.T) {
		for _, u := range []*auth.User{h.otto, h.vera, h.leo} {
			_, err := h.svc.GetCalibrationSet(h.ctx, u, set.ID)
			errstest.Require(t, err, errs.NotFound)
			sets, err := h.svc.ListCalibrationSets(h.ctx, u)
			require.NoError(t, err)
			assert.NotNil(t, sets)
			assert.Empty(t, sets)
		}
		_, err := h.svc.GetCalibrationSet(h.ctx, h.lena, "0123456789abcdef01234567")
		errstest.Require(t, err, errs.NotFound)
	})
}

func TestCalibrationSubmit(t *testing.T) {
	h := newCalHarness(t)
	set := h.acmeSet()
	_, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, set.ID, []string{"ivy"}, "acme", auth.Meta{})
	require.NoError(t, err)

	t.Run("incomplete_or_wrong_answers_are_named", func(t *testing.T) {
		full := h.answers(true)
		dup := append(h.answers(true)[:3], GivenAnswer{CaseID: h.acme[0].Key, Answer: refSuspend})
		foreign := append(h.answers(true), GivenAnswer{CaseID: h.other.ID, Answer: refClean})
		bad := h.answers(true)
		bad[2].Verdict = "perhaps"
		tests := []struct {
			name    string
			answers []GivenAnswer
			field   string
		}{
			{"none", nil, "answers"},
			{"one_missing", full[:3], "answers"},
			{"same_case_twice", dup, "answers[3].case_id"},
			{"case_not_in_set", foreign, "answers[4].case_id"},
			{"bad_verdict", bad, "answers[2].verdict"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.svc.SubmitCalibrationAnswers(h.ctx, h.vic, set.ID, tc.answers, auth.Meta{})
				assert.Contains(t, errstest.Fields(t, err), tc.field)
			})
		}
		e := errstest.Require(t, func() error {
			_, err := h.svc.SubmitCalibrationAnswers(h.ctx, h.vic, set.ID, full[1:], auth.Meta{})
			return err
		}(), errs.Invalid)
		assert.Contains(t, e.Error(), h.acme[0].Key, "the missing case is named")
		view, err := h.svc.GetCalibrationSet(h.ctx, h.vic, set.ID)
		require.NoError(t, err)
		assert.Nil(t, view.Assignments[0].SubmittedAt, "nothing was recorded")
	})

	t.Run("scores_three_of_four", func(t *testing.T) {
		h.clock.Advance(time.Hour)
		got, err := h.svc.SubmitCalibrationAnswers(h.ctx, h.vic, set.ID, h.answers(false), auth.Meta{})
		require.NoError(t, err)
		own := got.Assignments[0]
		require.NotNil(t, own.Score)
		assert.Equal(t, 0.75, *own.Score)
		assert.Equal(t, 3, own.Correct)
		require.NotNil(t, own.SubmittedAt)
		assert.Equal(t, calStart.Add(time.Hour), *own.SubmittedAt)
		require.Len(t, own.Answers, 4)
		assert.Equal(t, h.acme[2].ID, own.Answers[2].CaseID, "answers are stored by case id")
		ev := h.audited("qa.calibration.submit")
		require.NotEmpty(t, ev)
		assert.Equal(t, "vic", ev[0].User)
		assert.Equal(t, map[string]string{"correct": "3", "items": "4"}, ev[0].Detail)
	})

	t.Run("one_wrong_field_makes_an_answer_wrong", func(t *testing.T) {
		ans := h.answers(true)
		ans[1].PolicyArea = "fraud_scam" // wrong policy area
		ans[3].Verdict = cases.VerdictNoViolation
		got, err := h.svc.SubmitCalibrationAnswers(h.ctx, h.ivy, set.ID, ans, auth.Meta{})
		require.NoError(t, err)
		assert.Equal(t, 0.5, *got.Assignments[0].Score)
		assert.Equal(t, 2, got.Assignments[0].Correct)
	})

	t.Run("second_submission_conflicts", func(t *testing.T) {
		_, err := h.svc.SubmitCalibrationAnswers(h.ctx, h.vic, set.ID, h.answers(true), auth.Meta{})
		errstest.Require(t, err, errs.Conflict)
		view, err := h.svc.GetCalibrationSet(h.ctx, h.vic, set.ID)
		require.NoError(t, err)
		assert.Equal(t, 0.75, *view.Assignments[0].Score, "the first submission stands")
	})

	t.Run("unassigned_user_gets_not_found", func(t *testing.T) {
		for _, u := range []*auth.User{h.otto, h.vera} {
			_, err := h.svc.SubmitCalibrationAnswers(h.ctx, u, set.ID, h.answers(true), auth.Meta{})
			errstest.Require(t, err, errs.NotFound)
		}
	})

	t.Run("reviewer_not_assigned_is_forbidden", func(t *testing.T) {
		_, err := h.svc.SubmitCalibrationAnswers(h.ctx, h.lena, set.ID, h.answers(true), auth.Meta{})
		errstest.Require(t, err, errs.Forbidden)
	})
}

func TestCalibrationScores(t *testing.T) {
	h := newCalHarness(t)
	first := h.acmeSet()
	second, err := h.svc.CreateCalibrationSet(h.ctx, h.lena, "Second", []NewCalibrationItem{
		{Case: h.acme[0].ID, Answer: refClean}, {Case: h.acme[1].ID, Answer: refUnsure},
	}, auth.Meta{})
	require.NoError(t, err)
	for _, set := range []CalibrationSet{first, second} {
		_, err := h.svc.AssignCalibrationSet(h.ctx, h.lena, set.ID, []string{"ivy"}, "acme", auth.Meta{})
		require.NoError(t, err)
	}

	day1 := calStart.Add(24 * time.Hour)
	h.clock.Set(day1)
	_, err = h.svc.SubmitCalibrationAnswers(h.ctx, h.vic, first.ID, h.answers(false), auth.Meta{}) // 0.75
	require.NoError(t, err)
	_, err = h.svc.SubmitCalibrationAnswers(h.ctx, h.val, first.ID, h.answers(true), auth.Meta{}) // 1
	require.NoError(t, err)
	h.clock.Set(day1.Add(24 * time.Hour))
	_, err = h.svc.SubmitCalibrationAnswers(h.ctx, h.vic, second.ID, []GivenAnswer{ // 0.5
		{CaseID: h.acme[0].ID, Answer: refClean}, {CaseID: h.acme[1].ID, Answer: refClean},
	}, auth.Meta{})
	require.NoError(t, err)
	// ivy never submits: unsubmitted assignments do not count.

	t.Run("per_agent_mean", func(t *testing.T) {
		got, err := h.svc.CalibrationScores(h.ctx, "agent", time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, map[string]CalibrationScore{
			"vic": {Assignments: 2, Score: 0.625},
			"val": {Assignments: 1, Score: 1},
		}, got)
	})

	t.Run("per_vendor_mean", func(t *testing.T) {
		got, err := h.svc.CalibrationScores(h.ctx, "vendor", time.Time{}, time.Time{})
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, 3, got["acme"].Assignments)
		assert.InDelta(t, (0.75+1+0.5)/3, got["acme"].Score, 1e-12)
	})

	t.Run("per_team", func(t *testing.T) {
		got, err := h.svc.CalibrationScores(h.ctx, "team", time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, map[string]CalibrationScore{"fraud": {Assignments: 2, Score: 0.625}}, got, "only vic has a team")
	})

	t.Run("window_is_half_open", func(t *testing.T) {
		got, err := h.svc.CalibrationScores(h.ctx, "agent", day1, day1.Add(24*time.Hour))
		require.NoError(t, err)
		assert.Equal(t, map[string]CalibrationScore{
			"vic": {Assignments: 1, Score: 0.75},
			"val": {Assignments: 1, Score: 1},
		}, got)
		got, err = h.svc.CalibrationScores(h.ctx, "vendor", day1.Add(time.Millisecond), time.Time{})
		require.NoError(t, err)
		assert.Equal(t, map[string]CalibrationScore{"acme": {Assignments: 1, Score: 0.5}}, got)
	})

	t.Run("unknown_grouping_is_invalid", func(t *testing.T) {
		_, err := h.svc.CalibrationScores(h.ctx, "policy_area", time.Time{}, time.Time{})
		assert.Equal(t, []string{"by"}, errstest.Fields(t, err))
	})
}
