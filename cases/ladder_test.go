package cases

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/errs/errstest"
)

func TestLadderRecommend(t *testing.T) {
	l := DefaultLadder()
	tests := []struct {
		name     string
		strikes  int
		action   Action
		duration time.Duration
	}{
		{"no_strikes_recommends_warning", 0, Warning, 0},
		{"one_strike_recommends_feature_restriction_7d", 1, FeatureRestriction, 7 * day},
		{"two_strikes_recommend_temporary_suspension_30d", 2, TemporarySuspension, 30 * day},
		{"three_strikes_recommend_permanent_ban", 3, PermanentBan, 0},
		{"five_strikes_recommend_permanent_ban", 5, PermanentBan, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := l.Recommend("fraud_scam", tt.strikes, VerdictViolation)
			assert.Equal(t, tt.action, r.Action)
			assert.Equal(t, tt.duration, r.Duration.D())
			assert.Equal(t, tt.strikes, r.ActiveStrikes)
			assert.Equal(t, "fraud_scam", r.PolicyArea)
			assert.Contains(t, r.Rule, fmt.Sprintf("%d active strike", tt.strikes), "the rule explains the strike count")
			assert.Contains(t, r.Rule, string(tt.action))
			if tt.duration > 0 {
				assert.Contains(t, r.Rule, formatDuration(tt.duration))
			}
		})
	}
	t.Run("counts_above_the_last_step_say_or_more", func(t *testing.T) {
		assert.Contains(t, l.Recommend("spam", 5, VerdictViolation).Rule, "step at 3 or more")
		assert.NotContains(t, l.Recommend("spam", 1, VerdictViolation).Rule, "or more")
	})
}

func TestLadderRecommendImmediateBan(t *testing.T) {
	l := DefaultLadder()
	for _, area := range []string{"child_safety", "violent_extremism"} {
		t.Run(area+"_violation_recommends_permanent_ban_at_once", func(t *testing.T) {
			r := l.Recommend(area, 0, VerdictViolation)
			assert.Equal(t, PermanentBan, r.Action)
			assert.Zero(t, r.Duration)
			assert.Contains(t, r.Rule, area)
			assert.Contains(t, r.Rule, "permanent_ban")
		})
		for _, v := range []Verdict{"", VerdictNoViolation, VerdictInsufficientEvidence} {
			name := string(v)
			if name == "" {
				name = "no"
			}
			t.Run(area+"_with_"+name+"_verdict_follows_the_ladder", func(t *testing.T) {
				assert.Equal(t, Warning, l.Recommend(area, 0, v).Action)
				assert.Equal(t, FeatureRestriction, l.Recommend(area, 1, v).Action)
				assert.Equal(t, TemporarySuspension, l.Recommend(area, 2, v).Action)
			})
		}
	}
	t.Run("other_areas_with_violation_follow_the_ladder", func(t *testing.T) {
		assert.Equal(t, Warning, l.Recommend("hate_speech", 0, VerdictViolation).Action)
	})
}

func TestLadderRecommendCustomSteps(t *testing.T) {
	l := Ladder{
		Steps: []LadderStep{
			{Strikes: 0, Action: ContentRemoval},
			{Strikes: 2, Action: TemporarySuspension, Duration: Duration(3 * day)},
		},
		StrikeTTL: Duration(30 * day),
	}
	assert.Equal(t, ContentRemoval, l.Recommend("spam", 1, VerdictViolation).Action, "a count between steps uses the lower step")
	r := l.Recommend("spam", 4, VerdictViolation)
	assert.Equal(t, TemporarySuspension, r.Action, "the last step applies to every count above it")
	assert.Equal(t, 3*day, r.Duration.D())
	assert.Equal(t, PermanentBan, DefaultLadder().Recommend("child_safety", 0, VerdictViolation).Action)
	assert.Equal(t, ContentRemoval, l.Recommend("child_safety", 0, VerdictViolation).Action, "no immediate-ban areas in this ladder")

	tax := DefaultTaxonomy()
	tax.LadderByArea = map[string]Ladder{"spam": l}
	assert.Equal(t, l.Steps, tax.LadderFor("spam").Steps, "an area's own ladder overrides the default")
	assert.Equal(t, DefaultLadder().Steps, tax.LadderFor("fraud_scam").Steps)
}

func TestActorActiveStrikes(t *testing.T) {
	now := t0
	ttl := 90 * day
	tests := []struct {
		name  string
		entry ActorEnforcement
		want  int
	}{
		{"recent_strike_counts", ActorEnforcement{Strike: true, Status: Applied, AppliedAt: now.Add(-10 * day)}, 1},
		{"expired_timed_action_still_counts_as_a_strike", ActorEnforcement{Strike: true, Status: Expired, AppliedAt: now.Add(-40 * day)}, 1},
		{"strike_just_inside_ttl_counts", ActorEnforcement{Strike: true, Status: Applied, AppliedAt: now.Add(-ttl + time.Millisecond)}, 1},
		{"strike_exactly_ttl_old_does_not_count", ActorEnforcement{Strike: true, Status: Applied, AppliedAt: now.Add(-ttl)}, 0},
		{"strike_older_than_ttl_does_not_count", ActorEnforcement{Strike: true, Status: Applied, AppliedAt: now.Add(-91 * day)}, 0},
		{"reversed_strike_does_not_count", ActorEnforcement{Strike: true, Status: Reversed, AppliedAt: now.Add(-day)}, 0},
		{"action_without_strike_does_not_count", ActorEnforcement{Strike: false, Status: Applied, AppliedAt: now.Add(-day)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Actor{History: []ActorEnforcement{tt.entry}}
			assert.Equal(t, tt.want, a.ActiveStrikes(ttl, now))
		})
	}
	t.Run("counts_every_active_strike", func(t *testing.T) {
		a := Actor{}
		for _, tt := range tests {
			a.History = append(a.History, tt.entry)
		}
		assert.Equal(t, 3, a.ActiveStrikes(ttl, now))
	})
}

func TestAddsStrike(t *testing.T) {
	tests := []struct {
		action  Action
		strikes int // prior offences in the strike window
		want    bool
	}{
		{Warning, 0, false},
		{Warning, 1, true},
		{Warning, 4, true},
		{ContentRemoval, 0, true},
		{FeatureRestriction, 0, true},
		{TemporarySuspension, 2, true},
		{PermanentBan, 0, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_after_%d_prior_offences", tt.action, tt.strikes), func(t *testing.T) {
			assert.Equal(t, tt.want, addsStrike(tt.action, tt.strikes))
		})
	}
}

func TestEnforcementDepartsFrom(t *testing.T) {
	rec := Recommendation{Action: FeatureRestriction, Duration: Duration(7 * day)}
	tests := []struct {
		name string
		e    Enforcement
		want bool
	}{
		{"same_action_and_duration_follows", Enforcement{Action: FeatureRestriction, Duration: Duration(7 * day)}, false},
		{"longer_duration_departs", Enforcement{Action: FeatureRestriction, Duration: Duration(14 * day)}, true},
		{"shorter_duration_departs", Enforcement{Action: FeatureRestriction, Duration: Duration(day)}, true},
		{"milder_action_departs", Enforcement{Action: Warning}, true},
		{"harsher_action_departs", Enforcement{Action: PermanentBan}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.e.departsFrom(rec))
		})
	}
}

func TestEnforcementEffectiveStatus(t *testing.T) {
	exp := t0.Add(day)
	e := Enforcement{Action: TemporarySuspension, Status: Applied, ExpiresAt: &exp}
	assert.Equal(t, Applied, e.EffectiveStatus(exp.Add(-time.Millisecond)))
	assert.Equal(t, Expired, e.EffectiveStatus(exp), "expires at its expiry time")
	assert.Equal(t, Expired, e.EffectiveStatus(exp.Add(day)))
	e.Status = Reversed
	assert.Equal(t, Reversed, e.EffectiveStatus(exp.Add(day)), "a reversed action stays reversed")
	ban := Enforcement{Action: PermanentBan, Status: Applied}
	assert.Equal(t, Applied, ban.EffectiveStatus(t0.Add(3650*day)), "an action without expiry never expires")
}

func TestActorRiskScore(t *testing.T) {
	now := t0
	ttl := 90 * day
	applied := func(a Action, ago time.Duration, strike bool, expires *time.Time) ActorEnforcement {
		return ActorEnforcement{Action: a, Status: Applied, AppliedAt: now.Add(-ago), Strike: strike, ExpiresAt: expires}
	}
	in := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	tests := []struct {
		name    string
		history []ActorEnforcement
		open    []Severity
		want    int
	}{
		{"nothing_scores_zero", nil, nil, 0},
		{"open_cases_by_severity", nil, []Severity{Sev1, Sev4}, 25 + 3},
		{"old_strike_outside_recent_window", []ActorEnforcement{applied(ContentRemoval, 40*day, true, nil)}, nil, 20},
		{"recent_warning_without_strike", []ActorEnforcement{applied(Warning, day, false, nil)}, nil, 5},
		{"active_restriction", []ActorEnforcement{applied(FeatureRestriction, 40*day, true, in(day))}, nil, 20 + 10},
		{"active_suspension_floors_at_60", []ActorEnforcement{applied(TemporarySuspension, 40*day, false, in(day))}, nil, 60},
		{"expired_suspension_has_no_floor", []ActorEnforcement{applied(TemporarySuspension, 40*day, false, in(-day))}, nil, 0},
		{"active_ban_scores_100", []ActorEnforcement{applied(PermanentBan, 40*day, false, nil)}, nil, 100},
		{"capped_at_100", []ActorEnforcement{applied(ContentRemoval, day, true, nil), applied(ContentRemoval, day, true, nil), applied(ContentRemoval, day, true, nil)}, []Severity{Sev1, Sev1}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Actor{History: tt.history}
			assert.Equal(t, tt.want, a.RiskScore(ttl, tt.open, now))
		})
	}
}

func TestTaxonomyValidate(t *testing.T) {
	require.NoError(t, DefaultTaxonomy().Validate(), "the defaults are valid")
	tests := []struct {
		name  string
		edit  func(*Taxonomy)
		field string
	}{
		{"no_policy_areas", func(t *Taxonomy) { t.PolicyAreas = nil }, "policy_areas"},
		{"duplicate_policy_area", func(t *Taxonomy) { t.PolicyAreas = append(t.PolicyAreas, "spam") }, fmt.Sprintf("policy_areas[%d]", len(DefaultPolicyAreas))},
		{"policy_area_not_snake_case", func(t *Taxonomy) { t.PolicyAreas[0] = "Fraud Scam" }, "policy_areas[0]"},
		{"missing_sla_for_a_severity", func(t *Taxonomy) { delete(t.SLA, Sev3) }, "sla.sev3"},
		{"zero_triage_time", func(t *Taxonomy) { t.SLA[Sev1] = SLATarget{Triage: 0, Resolve: Duration(time.Hour)} }, "sla.sev1"},
		{"resolve_shorter_than_triage", func(t *Taxonomy) {
			t.SLA[Sev2] = SLATarget{Triage: Duration(5 * time.Hour), Resolve: Duration(time.Hour)}
		}, "sla.sev2"},
		{"ladder_without_steps", func(t *Taxonomy) { t.Ladder.Steps = nil }, "ladder.steps"},
		{"ladder_not_starting_at_zero", func(t *Taxonomy) { t.Ladder.Steps = t.Ladder.Steps[1:] }, "ladder.steps"},
		{"ladder_strikes_not_increasing", func(t *Taxonomy) { t.Ladder.Steps[2].Strikes = 1 }, "ladder.steps[2]"},
		{"ladder_unknown_action", func(t *Taxonomy) { t.Ladder.Steps[1].Action = "shadow_ban" }, "ladder.steps[1].action"},
		{"timed_step_without_duration", func(t *Taxonomy) { t.Ladder.Steps[1].Duration = 0 }, "ladder.steps[1].duration"},
		{"zero_strike_ttl", func(t *Taxonomy) { t.Ladder.StrikeTTL = 0 }, "ladder.strike_ttl"},
		{"area_ladder_for_unknown_area", func(t *Taxonomy) { t.LadderByArea = map[string]Ladder{"gambling": DefaultLadder()} }, "ladder_by_area.gambling"},
		{"invalid_area_ladder", func(t *Taxonomy) { t.LadderByArea = map[string]Ladder{"spam": {StrikeTTL: Duration(day)}} }, "ladder_by_area.spam.steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tax := DefaultTaxonomy()
			tax.Ladder.Steps = append([]LadderStep(nil), tax.Ladder.Steps...)
			tt.edit(&tax)
			assert.Contains(t, errstest.Fields(t, tax.Validate()), tt.field)
		})
	}
}

func TestDurationJSON(t *testing.T) {
	type doc struct {
		D Duration `json:"d"`
	}
	t.Run("days_round_trip", func(t *testing.T) {
		var d doc
		require.NoError(t, json.Unmarshal([]byte(`{"d":"30d"}`), &d))
		assert.Equal(t, 30*day, d.D.D())
		b, err := json.Marshal(d)
		require.NoError(t, err)
		assert.JSONEq(t, `{"d":"30d"}`, string(b))
	})
	tests := []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"72h", 72 * time.Hour, "3d"},
		{"90m", 90 * time.Minute, "1h30m0s"},
		{"1d", day, "1d"},
		{"0s", 0, "0s"},
	}
	for _, tt := range tests {
		t.Run("parses_"+tt.in, func(t *testing.T) {
			var d doc
			require.NoError(t, json.Unmarshal([]byte(`{"d":"`+tt.in+`"}`), &d))
			assert.Equal(t, tt.want, d.D.D())
			b, err := json.Marshal(d)
			require.NoError(t, err)
			assert.JSONEq(t, `{"d":"`+tt.out+`"}`, string(b))
		})
	}
	for _, bad := range []string{"0d", "-1d", "1.5d", "+3d", "03d", "-5h", "soon", ""} {
		t.Run("rejects_"+bad, func(t *testing.T) {
			var d doc
			assert.Error(t, json.Unmarshal([]byte(`{"d":"`+bad+`"}`), &d))
		})
	}
	t.Run("taxonomy_round_trips", func(t *testing.T) {
		b, err := json.Marshal(DefaultTaxonomy())
		require.NoError(t, err)
		assert.Contains(t, string(b), `"strike_ttl":"90d"`)
		var back Taxonomy
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, DefaultTaxonomy(), back)
	})
}
