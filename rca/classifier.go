package rca

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/registry"
)

// seedVocabulary is the day-one knowledge of the classifier.
//
// Format: a JSON object whose keys are categories ("product", "process",
// "policy"; every category must be present, no other key is allowed) and
// whose values are lists of terms or short phrases typical of root causes
// of that category, e.g.
//
//	{"product": ["bug", "feature flag", ...], "process": ["SOP", ...], "policy": ["loophole", ...]}
//
// Each phrase is run through the same analyzer as the text being classified
// (Tokens) and every resulting feature (stem, and bigram of adjacent stems)
// enters the model as seedWeight pseudo-occurrences in its category. One
// learned root cause contributes one occurrence per feature it contains, so
// a few dozen labelled examples per category outweigh the seeds.
//
//go:embed seed_vocabulary.json
var seedVocabulary []byte

const (
	// seedWeight is the pseudo-count of each feature of each seed phrase.
	seedWeight = 2.0
	// smoothing is the Laplace (add-one) smoothing of term counts.
	smoothing = 1.0
	// maxInputBytes bounds the text analysed per call, so the cost of
	// classifying or learning is bounded; longer text is truncated.
	maxInputBytes = 20_000
	// maxSuggestionTerms is the number of terms explaining a suggestion.
	maxSuggestionTerms = 8
	// minCrossValidate is the number of labelled examples below which Stats
	// does not cross-validate: the figure would be noise.
	minCrossValidate = 10
	// defaultFolds is used when Stats is asked for fewer than two folds.
	defaultFolds = 5
	// foldSeed seeds the stable shuffle that assigns examples to folds.
	foldSeed = 0x5eed_ca5e
)

// englishAnalyzer is Bleve's English analyzer (unicode tokenizer, possessive
// and stop-word removal, lower case, Porter stemming), the one the search
// index uses for text. It is built once and immutable; Bleve analyzers are
// safe for concurrent use.
var englishAnalyzer = sync.OnceValues(func() (analysis.Analyzer, error) {
	return registry.NewCache().AnalyzerNamed(en.AnalyzerName)
})

// Suggestion is the classifier's guess at a root cause's category.
type Suggestion struct {
	Category   Category             `json:"category"`
	Confidence float64              `json:"confidence"` // posterior probability of Category, 0..1
	Scores     map[Category]float64 `json:"scores"`     // posterior per category, sums to 1
	Terms      []string             `json:"terms"`      // up to 8 stemmed terms that most favoured Category, strongest first
}

// Labeled is a root cause's text with its human-confirmed category.
type Labeled struct {
	Text     string
	Category Category
}

// ClassifierStats reports how well the classifier does on labelled examples.
type ClassifierStats struct {
	Labels         map[Category]int `json:"labels"`                   // human-labelled examples learned, per category
	CrossValidated *float64         `json:"cross_validated_accuracy"` // k-fold accuracy on the labelled examples (nil if < 10 examples)
	Folds          int              `json:"folds"`
	SeedTerms      int              `json:"seed_terms"`
}

// seeds is the parsed seed vocabulary; immutable once built.
type seeds struct {
	counts  map[Category]map[string]float64
	totals  map[Category]float64
	vocab   map[string]struct{}
	phrases int
}

// Classifier suggests the category of a root cause from its text: a
// multinomial naive Bayes model over the stems and stem bigrams of Tokens,
// with Laplace smoothing, a uniform prior over categories (the suggestion
// rests on the text, not on which category has been labelled most) and
// scores computed in log space. It starts from the seed vocabulary and
// learns incrementally from confirmed categories. Features never seen in
// seeds or labels are ignored.
//
// A Classifier is safe for concurrent use.
type Classifier struct {
	seeds *seeds

	mu           sync.RWMutex
	learned      map[Category]map[string]int // feature counts from labels
	learnedTotal map[Category]int
	learnedRefs  map[string]int // learned count of a feature over all categories
	vocab        int            // |seed features ∪ learned features|
}

// NewClassifier returns a classifier seeded from the shipped seed
// vocabulary, useful before any root cause has been labelled.
func NewClassifier() (*Classifier, error) {
	if _, err := englishAnalyzer(); err != nil {
		return nil, fmt.Errorf("rca: english analyzer: %w", err)
	}
	s, err := parseSeeds(seedVocabulary)
	if err != nil {
		return nil, err
	}
	return newSeeded(s), nil
}

func newSeeded(s *seeds) *Classifier {
	c := &Classifier{
		seeds:        s,
		learned:      make(map[Category]map[string]int, len(Categories)),
		learnedTotal: make(map[Category]int, len(Categories)),
		learnedRefs:  make(map[string]int),
		vocab:        len(s.vocab),
	}
	for _, cat := range Categories {
		c.learned[cat] = make(map[string]int)
	}
	return c
}

func parseSeeds(data []byte) (*seeds, error) {
	var raw map[Category][]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("rca: seed vocabulary: %w", err)
	}
	s := &seeds{
		counts: make(map[Category]map[string]float64, len(Categories)),
		totals: make(map[Category]float64, len(Categories)),
		vocab:  make(map[string]struct{}),
	}
	for cat := range raw {
		if !cat.Valid() {
			return nil, fmt.Errorf("rca: seed vocabulary: unknown category %q", cat)
		}
	}
	for _, cat := range Categories {
		phrases := raw[cat]
		if len(phrases) == 0 {
			return nil, fmt.Errorf("rca: seed vocabulary: no terms for category %q", cat)
		}
		s.counts[cat] = make(map[string]float64)
		for _, p := range phrases {
			feats := features(p)
			if len(feats) == 0 {
				return nil, fmt.Errorf("rca: seed vocabulary: %s term %q has no indexable words", cat, p)
			}
			for _, f := range feats {
				s.counts[cat][f] += seedWeight
				s.totals[cat] += seedWeight
				s.vocab[f] = struct{}{}
			}
			s.phrases++
		}
	}
	return s, nil
}

// Tokens returns the stemmed tokens of text as Bleve's English analyzer
// produces them, in order, so that search and the classifier see the same
// words.
func Tokens(text string) []string {
	stream := analyze(text)
	out := make([]string, 0, len(stream))
	for _, t := range stream {
		out = append(out, string(t.Term))
	}
	return out
}

func analyze(text string) analysis.TokenStream {
	a, err := englishAnalyzer()
	if err != nil {
		// The analyzer is registered by the en package's init; failing to
		// build it is a programming error that NewClassifier reports first.
		panic(fmt.Sprintf("rca: english analyzer: %v", err))
	}
	return a.Analyze([]byte(text))
}

// features returns the model's features of text: its stems and the bigrams
// of stems adjacent in the text (no stop word between them), after
// truncating text to maxInputBytes.
func features(text string) []string {
	stream := analyze(truncate(text, maxInputBytes))
	out := make([]string, 0, 2*len(stream))
	for i, t := range stream {
		if len(t.Term) == 0 {
			continue
		}
		out = append(out, string(t.Term))
		if i > 0 && len(stream[i-1].Term) > 0 && stream[i-1].Position+1 == t.Position {
			out = append(out, string(stream[i-1].Term)+" "+string(t.Term))
		}
	}
	return out
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Classify suggests a category for text. Empty text, or text with no word
// the model knows, gets the prior: uniform, Category the first of
// Categories, no terms.
func (c *Classifier) Classify(text string) Suggestion {
	feats := features(text)
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.classify(feats)
}

// prior is the suggestion when the text carries no evidence.
func prior() Suggestion {
	p := 1 / float64(len(Categories))
	scores := make(map[Category]float64, len(Categories))
	for _, cat := range Categories {
		scores[cat] = p
	}
	return Suggestion{Category: Categories[0], Confidence: p, Scores: scores, Terms: []string{}}
}

// logLikelihood returns log P(f | cat) given the per-category log
// denominators. c.mu must be held.
func (c *Classifier) logLikelihood(f string, cat Category, logDenom float64) float64 {
	n := c.seeds.counts[cat][f] + float64(c.learned[cat][f])
	return math.Log(n+smoothing) - logDenom
}

// known reports whether f is in the vocabulary. c.mu must be held.
func (c *Classifier) known(f string) bool {
	if _, ok := c.seeds.vocab[f]; ok {
		return true
	}
	return c.learnedRefs[f] > 0
}

// classify scores features. c.mu must be held (read).
func (c *Classifier) classify(feats []string) Suggestion {
	counts := make(map[string]int, len(feats))
	for _, f := range feats {
		if c.known(f) {
			counts[f]++
		}
	}
	if len(counts) == 0 {
		return prior()
	}
	terms := make([]string, 0, len(counts))
	for f := range counts {
		terms = append(terms, f)
	}
	sort.Strings(terms) // deterministic summation order

	k := len(Categories)
	logDenom := make([]float64, k)
	for i, cat := range Categories {
		logDenom[i] = math.Log(c.seeds.totals[cat] + float64(c.learnedTotal[cat]) + smoothing*float64(c.vocab))
	}
	// ll[j][i] is log P(terms[j] | Categories[i]).
	ll := make([][]float64, len(terms))
	logPost := make([]float64, k) // uniform prior: a constant, dropped
	for j, f := range terms {
		ll[j] = make([]float64, k)
		for i, cat := range Categories {
			ll[j][i] = c.logLikelihood(f, cat, logDenom[i])
			logPost[i] += float64(counts[f]) * ll[j][i]
		}
	}

	best := 0
	for i := 1; i < k; i++ {
		if logPost[i] > logPost[best] {
			best = i
		}
	}
	var sum float64
	post := make([]float64, k)
	for i := range logPost {
		post[i] = math.Exp(logPost[i] - logPost[best])
		sum += post[i]
	}
	s := Suggestion{
		Category: Categories[best],
		Scores:   make(map[Category]float64, k),
	}
	for i, cat := range Categories {
		s.Scores[cat] = post[i] / sum
	}
	s.Confidence = s.Scores[s.Category]

	// A term's weight for the winner: how much more likely it is under the
	// winner than under the strongest other category, times its count.
	type weighted struct {
		term string
		w    float64
	}
	ws := make([]weighted, 0, len(terms))
	for j, f := range terms {
		other := math.Inf(-1)
		for i := range Categories {
			if i != best && ll[j][i] > other {
				other = ll[j][i]
			}
		}
		if w := float64(counts[f]) * (ll[j][best] - other); w > 0 {
			ws = append(ws, weighted{f, w})
		}
	}
	sort.SliceStable(ws, func(a, b int) bool { return ws[a].w > ws[b].w })
	s.Terms = make([]string, 0, min(len(ws), maxSuggestionTerms))
	for _, w := range ws[:min(len(ws), maxSuggestionTerms)] {
		s.Terms = append(s.Terms, w.term)
	}
	return s
}

// Learn adds confirmed examples to the model. Examples with an invalid
// category are ignored.
func (c *Classifier) Learn(ex ...Labeled) {
	prepared := prepare(ex)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range prepared {
		c.learn(p.cat, p.feats)
	}
}

// Unlearn removes examples added by Learn, e.g. when a root cause's text or
// category is edited or the root cause is deleted. Counts never go below
// zero and the seeds are never touched, so unlearning an example that was
// never learned does no harm.
func (c *Classifier) Unlearn(ex ...Labeled) {
	prepared := prepare(ex)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range prepared {
		c.unlearn(p.cat, p.feats)
	}
}

type preparedExample struct {
	cat   Category
	feats []string
}

// prepare analyses examples outside the lock, dropping invalid categories.
func prepare(ex []Labeled) []preparedExample {
	out := make([]preparedExample, 0, len(ex))
	for _, e := range ex {
		if !e.Category.Valid() {
			continue
		}
		out = append(out, preparedExample{cat: e.Category, feats: features(e.Text)})
	}
	return out
}

// learn adds one example's features. c.mu must be held (write).
func (c *Classifier) learn(cat Category, feats []string) {
	for _, f := range feats {
		c.learned[cat][f]++
		c.learnedTotal[cat]++
		if c.learnedRefs[f] == 0 {
			if _, seeded := c.seeds.vocab[f]; !seeded {
				c.vocab++
			}
		}
		c.learnedRefs[f]++
	}
}

// unlearn removes one example's features. c.mu must be held (write).
func (c *Classifier) unlearn(cat Category, feats []string) {
	for _, f := range feats {
		n := c.learned[cat][f]
		if n == 0 {
			continue
		}
		if n == 1 {
			delete(c.learned[cat], f)
		} else {
			c.learned[cat][f] = n - 1
		}
		c.learnedTotal[cat]--
		c.learnedRefs[f]--
		if c.learnedRefs[f] == 0 {
			delete(c.learnedRefs, f)
			if _, seeded := c.seeds.vocab[f]; !seeded {
				c.vocab--
			}
		}
	}
}

// Stats reports the label counts of labeled (examples with an invalid
// category are left out) and, from 10 examples on, the accuracy of k-fold
// cross-validation over them: each fold is classified by a fresh seeded
// classifier trained on the other folds. folds below 2 means 5; more folds
// than examples means leave-one-out. Folds are stratified by category and
// assigned after a shuffle with a fixed seed, so the result is
// deterministic. Stats does not change c.
func (c *Classifier) Stats(labeled []Labeled, folds int) ClassifierStats {
	st := ClassifierStats{
		Labels:    make(map[Category]int, len(Categories)),
		SeedTerms: c.seeds.phrases,
	}
	for _, cat := range Categories {
		st.Labels[cat] = 0
	}
	prepared := prepare(labeled)
	for _, p := range prepared {
		st.Labels[p.cat]++
	}
	n := len(prepared)
	if n < minCrossValidate {
		return st
	}
	k := folds
	if k < 2 {
		k = defaultFolds
	}
	k = min(k, n)

	fold := assignFolds(prepared, k)
	correct := 0
	for f := range k {
		m := newSeeded(c.seeds)
		for i, p := range prepared {
			if fold[i] != f {
				m.learn(p.cat, p.feats)
			}
		}
		for i, p := range prepared {
			if fold[i] == f && m.classify(p.feats).Category == p.cat {
				correct++
			}
		}
	}
	acc := float64(correct) / float64(n)
	st.CrossValidated = &acc
	st.Folds = k
	return st
}

// assignFolds gives each example a fold in [0, k): examples of each
// category, in a shuffle seeded with foldSeed, are dealt round-robin, so
// every fold gets a near-equal share of each category.
func assignFolds(ex []preparedExample, k int) []int {
	rng := rand.New(rand.NewPCG(foldSeed, uint64(len(ex))))
	fold := make([]int, len(ex))
	next := 0
	for _, cat := range Categories {
		var idx []int
		for i, e := range ex {
			if e.cat == cat {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, i := range idx {
			fold[i] = next % k
			next++
		}
	}
	return fold
}
