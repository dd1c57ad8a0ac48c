package quality

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs/errstest"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// decisions simulates n decisions spread over vendors, teams and areas.
func decisions(n int) []cases.Decided {
	out := make([]cases.Decided, n)
	vendors := []string{"acme", "bpo2", ""}
	teams := []string{"t1", "t2"}
	for i := range out {
		out[i] = cases.Decided{ID: fmt.Sprintf("case%06d:enforcement:e%d", i, i%7), Kind: cases.DecisionEnforcement,
			Decider: "agent" + fmt.Sprint(i%40), Vendor: vendors[i%3], Team: teams[i%2], PolicyAreas: []string{"fraud_scam"},
			Action: cases.Warning, At: t0.Add(time.Duration(i) * time.Minute)}
	}
	return out
}

func sampledIDs(r Rules, ds []cases.Decided) map[string]bool {
	out := map[string]bool{}
	for _, d := range ds {
		if r.Sample(d, t0.AddDate(-1, 0, 0)).Sampled {
			out[d.ID] = true
		}
	}
	return out
}

// TestSamplingRatesAndReplay: over 10,000 simulated decisions each scope
// is sampled at its rate (within 4 standard deviations), overlapping
// rules sample at the higher rate, and a replay draws the same decisions.
func TestSamplingRatesAndReplay(t *testing.T) {
	r := Rules{Seed: "00112233445566778899aabbccddeeff", Rules: []Rule{
		{ID: "acme", Vendor: "acme", Rate: 0.10},
		{ID: "t2", Team: "t2", Rate: 0.30},
		{ID: "rest", Rate: 0.02},
	}}
	ds := decisions(10_000)
	got := sampledIDs(r, ds)
	groups := map[string][2]int{} // scope -> sampled, total
	rateOf := func(d cases.Decided) (string, float64) {
		switch {
		case d.Team == "t2":
			return "t2 (and acme in t2: max of 0.10, 0.30)", 0.30
		case d.Vendor == "acme":
			return "acme in t1", 0.10
		}
		return "rest", 0.02
	}
	want := map[string]float64{}
	for _, d := range ds {
		name, rate := rateOf(d)
		want[name] = rate
		g := groups[name]
		g[1]++
		if got[d.ID] {
			g[0]++
		}
		groups[name] = g
	}
	for name, g := range groups {
		p := want[name]
		sd := math.Sqrt(p * (1 - p) / float64(g[1]))
		assert.InDelta(t, p, float64(g[0])/float64(g[1]), 4*sd, "%s: %d of %d", name, g[0], g[1])
	}
	assert.Equal(t, got, sampledIDs(r, ds), "a replay samples the same decisions")

	other := r
	other.Seed = "ffeeddccbbaa99887766554433221100"
	assert.NotEqual(t, got, sampledIDs(other, ds), "another seed draws other decisions")
}

func TestSamplingEdges(t *testing.T) {
	ds := decisions(2000)
	none := Rules{Seed: "00112233445566778899aabbccddeeff", Rules: []Rule{{ID: "zero", Rate: 0}}}
	all := Rules{Seed: "00112233445566778899aabbccddeeff", Rules: []Rule{{ID: "one", Rate: 1}}}
	assert.Empty(t, sampledIDs(none, ds))
	assert.Len(t, sampledIDs(all, ds), len(ds))
	assert.Empty(t, sampledIDs(Rules{Seed: "00112233445566778899aabbccddeeff"}, ds), "no rule: nothing sampled")
	scoped := Rules{Seed: "00112233445566778899aabbccddeeff", Rules: []Rule{{ID: "bpo2", Vendor: "bpo2", Rate: 1}}}
	for id := range sampledIDs(scoped, ds) {
		for _, d := range ds {
			if d.ID == id {
				assert.Equal(t, "bpo2", d.Vendor)
			}
		}
	}
}

// TestAlwaysSample: a permanent ban and a new decider's decision are
// sampled whatever the rate; blindness comes from any matching rule.
func TestAlwaysSample(t *testing.T) {
	r := Rules{Seed: "00112233445566778899aabbccddeeff", Rules: []Rule{
		{ID: "bans", Rate: 0, AlwaysActions: []cases.Action{cases.PermanentBan}},
		{ID: "new", Rate: 0, NewDeciderDays: 30, Blind: true},
	}}
	d := cases.Decided{ID: "c1:enforcement:e1", Action: cases.PermanentBan, At: t0}
	veteran := t0.AddDate(-2, 0, 0)
	assert.Equal(t, Draw{Sampled: true, Reason: ReasonAction, Rule: "bans", Blind: true}, r.Sample(d, veteran))

	d.Action = cases.Warning
	assert.False(t, r.Sample(d, veteran).Sampled)
	assert.Equal(t, Draw{Sampled: true, Reason: ReasonNewDecider, Rule: "new", Blind: true}, r.Sample(d, t0.AddDate(0, 0, -29)))
	assert.False(t, r.Sample(d, t0.AddDate(0, 0, -31)).Sampled, "31 days in")
	assert.False(t, r.Sample(d, time.Time{}).Sampled, "an unknown decider is not new")
}

func TestRulesValidation(t *testing.T) {
	good := DefaultRules("00112233445566778899aabbccddeeff")
	require.NoError(t, good.validate())
	cases := []struct {
		name  string
		edit  func(*Rules)
		field string
	}{
		{"short seed", func(r *Rules) { r.Seed = "abc" }, "seed"},
		{"rate over one", func(r *Rules) { r.Rules[0].Rate = 1.5 }, "rules[0].rate"},
		{"negative rate", func(r *Rules) { r.Rules[0].Rate = -0.1 }, "rules[0].rate"},
		{"bad action", func(r *Rules) { r.Rules[0].AlwaysActions = []cases.Action{"jail"} }, "rules[0].always_actions"},
		{"duplicate id", func(r *Rules) { r.Rules = append(r.Rules, r.Rules[0]) }, "rules[1].id"},
		{"bad vendor", func(r *Rules) { r.Rules[0].Vendor = "ACME!" }, "rules[0].vendor"},
		{"no alert drop", func(r *Rules) { r.AlertDrop = 0 }, "alert_drop"},
		{"tenure", func(r *Rules) { r.Rules[0].NewDeciderDays = -1 }, "rules[0].new_decider_days"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := DefaultRules("00112233445566778899aabbccddeeff")
			c.edit(&r)
			assert.Equal(t, []string{c.field}, errstest.Fields(t, r.validate()))
		})
	}
}

// TestWilson against published values (e.g. Newcombe 1998; any Wilson
// calculator): 95% intervals.
func TestWilson(t *testing.T) {
	cases := []struct {
		k, n      int
		low, high float64
	}{
		{8, 10, 0.4902, 0.9433},
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{50, 100, 0.4038, 0.5962},
		{81, 263, 0.2553, 0.3662},
	}
	for _, c := range cases {
		w := Wilson(c.k, c.n)
		require.NotNil(t, w)
		assert.InDelta(t, float64(c.k)/float64(c.n), w.Rate, 1e-12)
		assert.InDelta(t, c.low, w.Low, 5e-5, "%d/%d low", c.k, c.n)
		assert.InDelta(t, c.high, w.High, 5e-5, "%d/%d high", c.k, c.n)
	}
	assert.Nil(t, Wilson(0, 0))
}
