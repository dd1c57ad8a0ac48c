package rca

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loadEval reads testdata/eval.jsonl: hand-written root-cause statements
// with their categories, one JSON object per line.
func loadEval(t testing.TB) []Labeled {
	t.Helper()
	f, err := os.Open("testdata/eval.jsonl")
	require.NoError(t, err)
	defer f.Close()

	var out []Labeled
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var row struct {
			Text     string   `json:"text"`
			Category Category `json:"category"`
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&row), "line %d", line)
		require.True(t, row.Category.Valid(), "line %d: category %q", line, row.Category)
		require.NotEmpty(t, strings.TrimSpace(row.Text), "line %d", line)
		out = append(out, Labeled{Text: row.Text, Category: row.Category})
	}
	require.NoError(t, sc.Err())
	return out
}

func newTestClassifier(t testing.TB) *Classifier {
	t.Helper()
	c, err := NewClassifier()
	require.NoError(t, err)
	return c
}

// accuracy classifies every example and returns the share classified right,
// logging a confusion matrix.
func accuracy(t *testing.T, c *Classifier, ex []Labeled) float64 {
	t.Helper()
	confusion := map[Category]map[Category]int{}
	correct := 0
	for _, e := range ex {
		got := c.Classify(e.Text).Category
		if confusion[e.Category] == nil {
			confusion[e.Category] = map[Category]int{}
		}
		confusion[e.Category][got]++
		if got == e.Category {
			correct++
		}
	}
	for _, want := range Categories {
		t.Logf("  %-8s → product %2d  process %2d  policy %2d", want,
			confusion[want][Product], confusion[want][Process], confusion[want][Policy])
	}
	return float64(correct) / float64(len(ex))
}

func TestClassifierEvalSetIsBalanced(t *testing.T) {
	ex := loadEval(t)
	require.GreaterOrEqual(t, len(ex), 180)
	per := map[Category]int{}
	seen := map[string]bool{}
	for _, e := range ex {
		per[e.Category]++
		assert.False(t, seen[e.Text], "duplicate eval line %q", e.Text)
		seen[e.Text] = true
	}
	for _, cat := range Categories {
		assert.GreaterOrEqual(t, per[cat], 60, "examples of %s", cat)
	}
}

func TestClassifierSeedOnlyAccuracy(t *testing.T) {
	ex := loadEval(t)
	c := newTestClassifier(t)

	acc := accuracy(t, c, ex)
	t.Logf("seed-only accuracy on %d eval statements: %.1f%%", len(ex), 100*acc)
	assert.GreaterOrEqual(t, acc, 0.70)
}

func TestClassifierHalfTrainedAccuracy(t *testing.T) {
	ex := loadEval(t)
	var train, test []Labeled
	for i, e := range ex {
		if i%2 == 0 {
			train = append(train, e)
		} else {
			test = append(test, e)
		}
	}
	c := newTestClassifier(t)
	c.Learn(train...)

	acc := accuracy(t, c, test)
	t.Logf("trained on %d even lines, accuracy on %d odd lines: %.1f%%", len(train), len(test), 100*acc)
	assert.GreaterOrEqual(t, acc, 0.85)
}

func TestClassifierLearnThenUnlearnRestoresOutput(t *testing.T) {
	ex := loadEval(t)
	probes := []string{
		"The new ranking model shipped with a bug that hid the report button",
		"Vendor agents were never trained on the escalation SOP",
		"The policy is ambiguous about parody accounts",
		"a completely unrelated sentence about gardening and tomatoes",
		"",
	}

	tests := []struct {
		name    string
		before  []Labeled // learned before the snapshot
		learned []Labeled // learned then unlearned
	}{
		{name: "seeds_only", learned: ex[:40]},
		{name: "after_prior_labels", before: ex[40:100], learned: ex[100:140]},
		{name: "new_vocabulary", learned: []Labeled{{Text: "zyzzyva quokka gardening tomatoes", Category: Policy}}},
		{name: "repeated_example", learned: []Labeled{ex[0], ex[0], ex[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClassifier(t)
			c.Learn(tt.before...)
			want := make([]Suggestion, len(probes))
			for i, p := range probes {
				want[i] = c.Classify(p)
			}

			c.Learn(tt.learned...)
			c.Unlearn(tt.learned...)

			for i, p := range probes {
				assert.Equal(t, want[i], c.Classify(p), "probe %q", p)
			}
		})
	}
}

func TestClassifierUnlearnNeverGoesNegative(t *testing.T) {
	c := newTestClassifier(t)
	probe := "the classifier threshold regression"
	want := c.Classify(probe)

	// Unlearning what was never learned must not eat into the seeds.
	c.Unlearn(Labeled{Text: probe, Category: Product}, Labeled{Text: probe, Category: Product})
	assert.Equal(t, want, c.Classify(probe))

	// And must not leave a debt that swallows the next Learn.
	c.Learn(Labeled{Text: probe, Category: Product})
	learned := c.Classify(probe)
	assert.Greater(t, learned.Scores[Product], want.Scores[Product])
}

func TestClassifierIgnoresInvalidCategory(t *testing.T) {
	c := newTestClassifier(t)
	probe := "the escalation path to the vendor was unclear"
	want := c.Classify(probe)

	c.Learn(Labeled{Text: probe, Category: "people"}, Labeled{Text: probe, Category: ""})
	assert.Equal(t, want, c.Classify(probe))
}

func TestClassifySuggestionInvariants(t *testing.T) {
	c := newTestClassifier(t)
	c.Learn(loadEval(t)[:60]...)

	tests := []struct {
		name string
		text string
		want Category
	}{
		{name: "product_bug", text: "A regression in the deploy broke the spam classifier's threshold and recall collapsed", want: Product},
		{name: "process_training", text: "BPO reviewers on the night shift were not trained on the new SOP and nobody escalated", want: Process},
		{name: "policy_ambiguity", text: "The harassment policy is ambiguous and has no definition of brigading, a loophole abusers used", want: Policy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := c.Classify(tt.text)

			assert.Equal(t, tt.want, s.Category)
			var sum float64
			for _, cat := range Categories {
				p, ok := s.Scores[cat]
				require.True(t, ok, "score for %s", cat)
				assert.GreaterOrEqual(t, p, 0.0)
				assert.LessOrEqual(t, p, 1.0)
				sum += p
				assert.LessOrEqual(t, p, s.Confidence, "%s scores above the suggested category", cat)
			}
			assert.Len(t, s.Scores, len(Categories))
			assert.InDelta(t, 1.0, sum, 1e-9)
			assert.Equal(t, s.Scores[s.Category], s.Confidence)

			require.NotEmpty(t, s.Terms)
			assert.LessOrEqual(t, len(s.Terms), 8)
			tokens := strings.Join(Tokens(tt.text), " ")
			for _, term := range s.Terms {
				assert.Contains(t, tokens, term, "explaining term is not from the text")
			}
		})
	}
}

func TestClassifyEmptyTextReturnsPrior(t *testing.T) {
	c := newTestClassifier(t)
	c.Learn(loadEval(t)...) // the prior for no evidence stays uniform after learning

	tests := []struct {
		name string
		text string
	}{
		{name: "empty", text: ""},
		{name: "spaces", text: "   "},
		{name: "whitespace_mix", text: "\n\t \r\n"},
		{name: "stop_words_only", text: "the of and is"},
		{name: "unknown_words_only", text: "qwzxv plorb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := c.Classify(tt.text)

			assert.Equal(t, Categories[0], s.Category)
			assert.InDelta(t, 1.0/3, s.Confidence, 1e-12)
			for _, cat := range Categories {
				assert.InDelta(t, 1.0/3, s.Scores[cat], 1e-12, "score for %s", cat)
			}
			assert.Empty(t, s.Terms)
		})
	}
}

func TestClassifyTruncatesLongInput(t *testing.T) {
	c := newTestClassifier(t)
	head := strings.Repeat("policy loophole ", 2000) // > 20,000 bytes on its own
	tail := strings.Repeat(" bug regression deploy outage", 5000)

	assert.Equal(t, c.Classify(head), c.Classify(head+tail), "text past the limit must not count")
	assert.Equal(t, Policy, c.Classify(head+tail).Category)

	// Truncation never splits a rune.
	assert.Equal(t, "ab", truncate("ab€", 3))
	assert.Equal(t, "ab€", truncate("ab€", 5))
}

func TestClassifierStats(t *testing.T) {
	ex := loadEval(t)
	c := newTestClassifier(t)

	tests := []struct {
		name       string
		labeled    []Labeled
		folds      int
		wantLabels map[Category]int
		wantFolds  int
		wantCV     bool
	}{
		{
			name:       "no_labels",
			wantLabels: map[Category]int{Product: 0, Process: 0, Policy: 0},
		},
		{
			name: "nine_labels_not_cross_validated",
			labeled: []Labeled{
				{"bug", Product}, {"bug", Product}, {"bug", Product},
				{"SOP", Process}, {"SOP", Process}, {"SOP", Process},
				{"loophole", Policy}, {"loophole", Policy}, {"loophole", Policy},
			},
			folds:      5,
			wantLabels: map[Category]int{Product: 3, Process: 3, Policy: 3},
		},
		{
			name: "invalid_categories_are_not_counted",
			labeled: append(append([]Labeled{}, ex[:9]...),
				Labeled{"x", "people"}, Labeled{"y", ""}),
			folds:      5,
			wantLabels: countLabels(ex[:9]),
		},
		{
			name:       "ten_labels_cross_validated",
			labeled:    ex[:10],
			folds:      5,
			wantLabels: countLabels(ex[:10]),
			wantFolds:  5,
			wantCV:     true,
		},
		{
			name:       "folds_default_to_five",
			labeled:    ex[:30],
			folds:      0,
			wantLabels: countLabels(ex[:30]),
			wantFolds:  5,
			wantCV:     true,
		},
		{
			name:       "folds_capped_at_examples",
			labeled:    ex[:12],
			folds:      50,
			wantLabels: countLabels(ex[:12]),
			wantFolds:  12,
			wantCV:     true,
		},
		{
			name:       "whole_eval_set",
			labeled:    ex,
			folds:      10,
			wantLabels: countLabels(ex),
			wantFolds:  10,
			wantCV:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := c.Stats(tt.labeled, tt.folds)

			assert.Equal(t, tt.wantLabels, st.Labels)
			assert.Equal(t, tt.wantFolds, st.Folds)
			assert.Positive(t, st.SeedTerms)
			if !tt.wantCV {
				assert.Nil(t, st.CrossValidated)
				return
			}
			require.NotNil(t, st.CrossValidated)
			assert.GreaterOrEqual(t, *st.CrossValidated, 0.0)
			assert.LessOrEqual(t, *st.CrossValidated, 1.0)
			t.Logf("%d-fold cross-validated accuracy on %d labels: %.1f%%", st.Folds, len(tt.labeled), 100**st.CrossValidated)

			again := c.Stats(tt.labeled, tt.folds)
			assert.Equal(t, *st.CrossValidated, *again.CrossValidated, "cross-validation is deterministic")
		})
	}
}

func TestClassifierStatsDoesNotChangeClassifier(t *testing.T) {
	ex := loadEval(t)
	c := newTestClassifier(t)
	probe := ex[0].Text
	want := c.Classify(probe)

	c.Stats(ex, 5)

	assert.Equal(t, want, c.Classify(probe))
}

func TestClassifierStatsCrossValidatedAccuracyOnEvalSet(t *testing.T) {
	st := newTestClassifier(t).Stats(loadEval(t), 10)
	require.NotNil(t, st.CrossValidated)
	t.Logf("10-fold cross-validated accuracy on the eval set: %.1f%%", 100**st.CrossValidated)
	assert.GreaterOrEqual(t, *st.CrossValidated, 0.85)
}

func countLabels(ex []Labeled) map[Category]int {
	out := map[Category]int{Product: 0, Process: 0, Policy: 0}
	for _, e := range ex {
		out[e.Category]++
	}
	return out
}

func TestClassifierConcurrentClassifyAndLearn(t *testing.T) {
	ex := loadEval(t)
	c := newTestClassifier(t)

	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(ex); i += 4 {
				c.Learn(ex[i])
				if i%3 == 0 {
					c.Unlearn(ex[i])
				}
			}
		})
		wg.Go(func() {
			for i := w; i < len(ex); i += 4 {
				s := c.Classify(ex[i].Text)
				assert.InDelta(t, 1.0, s.Scores[Product]+s.Scores[Process]+s.Scores[Policy], 1e-9)
			}
		})
	}
	wg.Go(func() { c.Stats(ex[:30], 3) })
	wg.Wait()

	// Counts are integers, so the order of updates does not matter: the
	// result equals learning the examples that were not unlearned.
	want := newTestClassifier(t)
	for i, e := range ex {
		if i%3 != 0 {
			want.Learn(e)
		}
	}
	for _, e := range ex[:20] {
		assert.Equal(t, want.Classify(e.Text), c.Classify(e.Text))
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{name: "stems_and_lowercases", text: "Reviewers Escalated the Policies", want: []string{"review", "escal", "polici"}},
		{name: "drops_stop_words", text: "it is not in the SOP", want: []string{"sop"}},
		{name: "strips_possessive", text: "the vendor's queue", want: []string{"vendor", "queue"}},
		{name: "empty", text: "", want: []string{}},
		{name: "whitespace", text: " \n\t", want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Tokens(tt.text))
		})
	}
}

func TestClassifierSeedVocabulary(t *testing.T) {
	s, err := parseSeeds(seedVocabulary)
	require.NoError(t, err)
	for _, cat := range Categories {
		assert.Positive(t, s.totals[cat], "seed mass of %s", cat)
	}

	bad := []struct {
		name string
		data string
	}{
		{name: "not_json", data: `{`},
		{name: "unknown_category", data: `{"product":["bug"],"process":["sop"],"policy":["rule"],"people":["x"]}`},
		{name: "missing_category", data: `{"product":["bug"],"process":["sop"]}`},
		{name: "stop_words_only", data: `{"product":["bug"],"process":["sop"],"policy":["the of"]}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSeeds([]byte(tt.data))
			assert.Error(t, err)
		})
	}
}

func FuzzTokens(f *testing.F) {
	f.Add("Reviewers Escalated the Policies")
	f.Add("")
	f.Add("\xff\xfe\x00 invalid utf-8 \xc3")
	f.Add("\ufb01le Ǆ İstanbul ß ΣΑΣ 🙂 \u202ertl\u202c")
	f.Add("it's the vendor's vendors' queue's")

	f.Fuzz(func(t *testing.T, text string) {
		got := Tokens(text)
		for _, tok := range got {
			if tok == "" {
				t.Fatalf("empty token from %q", text)
			}
		}
		if again := Tokens(text); !slices.Equal(got, again) {
			t.Fatalf("Tokens(%q) not deterministic: %q then %q", text, got, again)
		}
	})
}

func FuzzClassify(f *testing.F) {
	f.Add("The spam classifier's new threshold shipped without a holdout evaluation")
	f.Add("Night-shift reviewers at the BPO were not trained on the updated SOP")
	f.Add("")
	f.Add("\xff\xfe\x00 invalid utf-8 \xc3")
	f.Add(strings.Repeat("€", 7000))
	f.Add("polícy 政策 ポリシー 🙂🙂 2024-01-01 1e9 ---")

	c := newTestClassifier(f)
	c.Learn(Labeled{Text: "the dashboard query had a bug", Category: Product})
	f.Fuzz(func(t *testing.T, text string) {
		s := c.Classify(text)
		if !s.Category.Valid() {
			t.Fatalf("invalid category %q", s.Category)
		}
		var sum float64
		for _, cat := range Categories {
			p := s.Scores[cat]
			if math.IsNaN(p) || p < 0 || p > 1 {
				t.Fatalf("score %v for %s", p, cat)
			}
			sum += p
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Fatalf("scores sum to %v", sum)
		}
		if s.Confidence != s.Scores[s.Category] || len(s.Terms) > 8 {
			t.Fatalf("inconsistent suggestion %+v", s)
		}
	})
}
