package rca

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/registry"
)

// seedVocabulary is the classifier's day-one knowledge.
//
// Format: a JSON object with one key per category ("product", "process",
// "policy"; all three required, no other key allowed), each mapping to a
// list of words or short phrases typical of root causes of that category:
//
//	{"product": ["bug", "feature flag", ...], "process": ["SOP", ...], "policy": ["loophole", ...]}
//
// Each entry is run through Tokens. An entry of one stem adds that stem; an
// entry of several stems adds only the bigrams of its consecutive stems, so
// the words of "edge case" or "review tool" are evidence together, never
// one by one (list a word on its own when it is telling by itself). Every
// feature an entry adds counts as seedWeight occurrences in its category,
// as if that many labelled root causes had used it. A labelled root cause
// adds one occurrence of each of its features, so after a few dozen labels
// per category the labels outweigh the seeds.
//
//go:embed seed_vocabulary.json
var seedVocabulary []byte

const (
	// seedWeight is the pseudo-count of each feature of each seed entry.
	seedWeight = 4.0
	// smoothing is the Laplace (add-one) smoothing of feature counts.
	smoothing = 1.0
	// headStems is how many leading stems of a text count extra: a root
	// cause usually opens by naming what failed ("The review tool …",
	// "Night-shift reviewers …", "The harassment policy …").
	headStems = 3
	// headWeight is the weight of the features of the leading stems.
	headWeight = 2.0
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
	// foldSeed seeds the shuffle that assigns examples to folds.
	foldSeed = 0x5eedca5e
)

// englishAnalyzer is Bleve's English analyzer (unicode tokenizer,
// possessive removal, lower case, English stop words, Porter stemmer), the
// analyzer search uses for English text. It is built once and never
// changes; Bleve analyzers are safe for concurrent use.
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

// seeds is the parsed seed vocabulary; never changed once built.
type seeds struct {
	counts  map[Category]map[string]float64
	totals  map[Category]float64
	vocab   map[string]struct{}
	entries int
}

// Classifier suggests the category of a root cause from its text.
//
// The model is naive Bayes in its complement form (Rennie et al., 2003:
// each category is scored by how badly the text fits the other categories,
// which keeps a category with wordier examples from being penalised), with
// Laplace smoothing and all arithmetic in log space. Features are the stems
// of Tokens and the bigrams of consecutive stems. At classification time
// each feature is weighted by its smoothed inverse document frequency over
// the learned root causes, so words every root cause uses ("review",
// "queue") say little, and the features of the first headStems stems count
// headWeight times. Features never seen in seeds or labels are ignored.
// Scores are the softmax of the category scores.
//
// A Classifier starts from the seed vocabulary and learns incrementally.
// It is safe for concurrent use.
type Classifier struct {
	seeds *seeds

	mu           sync.RWMutex
	learned      map[Category]map[string]int // feature occurrences in labels
	learnedTotal map[Category]int
	learnedRefs  map[string]int // occurrences of a feature over all categories
	docFreq      map[string]int // learned root causes containing a feature
	docs         int            // learned root causes
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
		docFreq:      make(map[string]int),
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
	for cat := range raw {
		if !cat.Valid() {
			return nil, fmt.Errorf("rca: seed vocabulary: unknown category %q", cat)
		}
	}
	s := &seeds{
		counts: make(map[Category]map[string]float64, len(Categories)),
		totals: make(map[Category]float64, len(Categories)),
		vocab:  make(map[string]struct{}),
	}
	for _, cat := range Categories {
		entries := raw[cat]
		if len(entries) == 0 {
			return nil, fmt.Errorf("rca: seed vocabulary: no entries for category %q", cat)
		}
		s.counts[cat] = make(map[string]float64)
		for _, e := range entries {
			feats := seedFeatures(e)
			if len(feats) == 0 {
				return nil, fmt.Errorf("rca: seed vocabulary: %s entry %q has only stop words", cat, e)
			}
			for _, f := range feats {
				s.counts[cat][f] += seedWeight
				s.totals[cat] += seedWeight
				s.vocab[f] = struct{}{}
			}
			s.entries++
		}
	}
	return s, nil
}

// Tokens returns the stems of text in order, as Bleve's English analyzer
// produces them, so that search and the classifier see the same words.
func Tokens(text string) []string {
	a, err := englishAnalyzer()
	if err != nil {
		// The en package registers the analyzer in its init; failing to
		// build it is a programming error, which NewClassifier reports.
		panic(fmt.Sprintf("rca: english analyzer: %v", err))
	}
	// Lowercased here first: Bleve's lowercase filter rewrites runes in
	// place and garbles a word when a rune's lower case is shorter in
	// UTF-8 (measured: "İA0" became the token "iaA").
	stream := a.Analyze([]byte(strings.ToLower(text)))
	out := make([]string, 0, len(stream))
	for _, t := range stream {
		if len(t.Term) > 0 {
			out = append(out, string(t.Term))
		}
	}
	return out
}

// features returns the model's features of text, after truncating it to
// maxInputBytes: each stem followed by the bigram it ends, if any, of
// consecutive stems (stop words are skipped, so "terms of service" gives
// "term servic"). The features of the i-th stem are at 2i-1 and 2i (2i
// alone for the first), which is how classify finds the leading ones.
func features(text string) []string {
	stems := Tokens(truncate(text, maxInputBytes))
	out := make([]string, 0, 2*len(stems))
	for i, s := range stems {
		out = append(out, s)
		if i > 0 {
			out = append(out, stems[i-1]+" "+s)
		}
	}
	return out
}

// headFeatures is the number of features (see features) of the first
// headStems stems.
const headFeatures = 2*headStems - 1

// seedFeatures returns the features a seed entry adds (see seedVocabulary).
func seedFeatures(entry string) []string {
	stems := Tokens(entry)
	if len(stems) == 1 {
		return stems
	}
	out := make([]string, 0, len(stems))
	for i := 1; i < len(stems); i++ {
		out = append(out, stems[i-1]+" "+stems[i])
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

// Classify suggests a category for text. Empty text, or text with no
// feature the model knows, gets the prior: uniform scores, Category the
// first of Categories, no terms.
func (c *Classifier) Classify(text string) Suggestion {
	feats := features(text)
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.classify(feats)
}

// prior is the suggestion for text that carries no evidence.
func prior() Suggestion {
	p := 1 / float64(len(Categories))
	scores := make(map[Category]float64, len(Categories))
	for _, cat := range Categories {
		scores[cat] = p
	}
	return Suggestion{Category: Categories[0], Confidence: p, Scores: scores, Terms: []string{}}
}

// known reports whether f is in the vocabulary. c.mu must be held.
func (c *Classifier) known(f string) bool {
	if _, ok := c.seeds.vocab[f]; ok {
		return true
	}
	return c.learnedRefs[f] > 0
}

// count is the occurrences of f in cat, seeds included. c.mu must be held.
func (c *Classifier) count(cat Category, f string) float64 {
	return c.seeds.counts[cat][f] + float64(c.learned[cat][f])
}

// classify scores features. c.mu must be held (read).
func (c *Classifier) classify(feats []string) Suggestion {
	// Weight of each known feature: occurrences, the leading ones counting
	// headWeight, times the feature's inverse document frequency.
	weight := make(map[string]float64, len(feats))
	for i, f := range feats {
		if !c.known(f) {
			continue
		}
		w := 1.0
		if i < headFeatures {
			w = headWeight
		}
		weight[f] += w
	}
	if len(weight) == 0 {
		return prior()
	}
	terms := make([]string, 0, len(weight))
	for f := range weight {
		terms = append(terms, f)
	}
	sort.Strings(terms) // a fixed summation order makes results reproducible
	for _, f := range terms {
		weight[f] *= math.Log(float64(c.docs+1)/float64(c.docFreq[f]+1)) + 1
	}

	k := len(Categories)
	var total float64
	totals := make([]float64, k)
	for i, cat := range Categories {
		totals[i] = c.seeds.totals[cat] + float64(c.learnedTotal[cat])
		total += totals[i]
	}
	// contrib[j][i] is what terms[j] adds to the score of Categories[i]:
	// minus its weighted log-probability in the complement of that category.
	contrib := make([][]float64, len(terms))
	score := make([]float64, k)
	for j, f := range terms {
		var all float64
		n := make([]float64, k)
		for i, cat := range Categories {
			n[i] = c.count(cat, f)
			all += n[i]
		}
		contrib[j] = make([]float64, k)
		for i := range Categories {
			logComplement := math.Log(all-n[i]+smoothing) - math.Log(total-totals[i]+smoothing*float64(c.vocab))
			contrib[j][i] = -weight[f] * logComplement
			score[i] += contrib[j][i]
		}
	}

	best := 0
	for i := 1; i < k; i++ {
		if score[i] > score[best] {
			best = i
		}
	}
	var sum float64
	post := make([]float64, k)
	for i := range score {
		post[i] = math.Exp(score[i] - score[best])
		sum += post[i]
	}
	s := Suggestion{Category: Categories[best], Scores: make(map[Category]float64, k)}
	for i, cat := range Categories {
		s.Scores[cat] = post[i] / sum
	}
	s.Confidence = s.Scores[s.Category]

	// A term favours the winner by its smallest margin over another
	// category.
	type margin struct {
		term string
		m    float64
	}
	margins := make([]margin, 0, len(terms))
	for j, f := range terms {
		m := math.Inf(1)
		for i := range Categories {
			if i != best {
				m = min(m, contrib[j][best]-contrib[j][i])
			}
		}
		if m > 0 {
			margins = append(margins, margin{f, m})
		}
	}
	sort.SliceStable(margins, func(a, b int) bool { return margins[a].m > margins[b].m })
	s.Terms = make([]string, 0, min(len(margins), maxSuggestionTerms))
	for _, m := range margins[:min(len(margins), maxSuggestionTerms)] {
		s.Terms = append(s.Terms, m.term)
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

// Unlearn reverses Learn for the same examples, e.g. when a root cause's
// text or category is edited (unlearn the old, learn the new) or the root
// cause is deleted. Counts never go below zero and the seeds are never
// touched, so unlearning an example that was never learned cannot leave
// the model below its day-one state.
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

// prepare analyses examples, outside any lock, dropping invalid categories.
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

// distinct returns feats without repeats.
func distinct(feats []string) []string {
	seen := make(map[string]struct{}, len(feats))
	out := make([]string, 0, len(feats))
	for _, f := range feats {
		if _, ok := seen[f]; !ok {
			seen[f] = struct{}{}
			out = append(out, f)
		}
	}
	return out
}

// learn adds one example's features. c.mu must be held (write).
func (c *Classifier) learn(cat Category, feats []string) {
	c.docs++
	for _, f := range distinct(feats) {
		c.docFreq[f]++
	}
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
	if c.docs > 0 {
		c.docs--
	}
	for _, f := range distinct(feats) {
		switch c.docFreq[f] {
		case 0:
		case 1:
			delete(c.docFreq, f)
		default:
			c.docFreq[f]--
		}
	}
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

// Stats counts labeled per category (examples with an invalid category are
// left out) and, from 10 examples on, measures accuracy by k-fold
// cross-validation over them: each fold is classified by a fresh seeded
// classifier trained on the other folds. folds below 2 means 5; more folds
// than examples means leave-one-out. Folds are stratified by category and
// dealt after a shuffle with a fixed seed, so the result is deterministic.
// Stats neither reads nor changes what c has learned.
func (c *Classifier) Stats(labeled []Labeled, folds int) ClassifierStats {
	st := ClassifierStats{
		Labels:    make(map[Category]int, len(Categories)),
		SeedTerms: c.seeds.entries,
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

// assignFolds gives each example a fold in [0, k): the examples of each
// category, shuffled by a generator seeded with foldSeed, are dealt
// round-robin, so every fold gets a near-equal share of each category.
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
