package main

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"casefile.dev/casefile/internal/benchcmp"
	"casefile.dev/casefile/internal/corpus"
)

// Query classes, by the share of documents a query matches.
const (
	classBroad     = "broad"     // > 30%
	classMid       = "mid"       // 1–10%
	classSelective = "selective" // < 1%
	classFilter    = "filter"    // a word AND exact keyword filters
)

var classes = []string{classBroad, classMid, classSelective, classFilter}

// classDesc says what each class is, for the report.
var classDesc = map[string]string{
	classBroad:     "matches > 30% of documents",
	classMid:       "matches 1–10%",
	classSelective: "matches < 1%",
	classFilter:    "word + type and status filters",
}

// sampleSize is how many corpus documents word frequencies are estimated
// on: enough for shares down to 0.1%.
const sampleSize = 5000

// stopWords are left out of queries: the engines' English analysers drop
// some of them, which would make a query mean different things per engine.
var stopWords = map[string]bool{"the": true, "and": true, "for": true, "with": true, "from": true, "that": true, "this": true,
	"was": true, "were": true, "are": true, "not": true, "but": true, "all": true, "our": true, "got": true, "what": true,
	"went": true, "where": true, "each": true, "every": true, "many": true, "several": true, "because": true, "despite": true,
	"after": true, "before": true, "into": true, "few": true, "most": true, "same": true, "between": true, "through": true, "during": true, "over": true, "than": true, "then": true, "they": true, "them": true, "their": true}

// words are the distinct plain words of a text, lower-cased.
func words(text string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if len(w) >= 4 && !stopWords[w] {
			out[w] = true
		}
	}
	return out
}

// chooseQueries picks perClass queries of each class from the corpus:
// deterministic for a seed, so every engine and every run gets the same
// queries. Shares are estimated on the first sampleSize documents; the
// report shows each engine's actual totals.
func chooseQueries(g *corpus.Gen, perClass int) []benchcmp.Query {
	n := sampleSize
	docs := make([]map[string]bool, n)
	df := map[string]int{}
	for i := range n {
		d := g.Doc(i)
		docs[i] = words(strings.Join([]string{d.Title, d.Summary, d.Body, d.Notes, d.Evidence, d.RootCauses}, " "))
		for w := range docs[i] {
			df[w]++
		}
	}
	share := func(terms ...string) float64 {
		c := 0
		for _, d := range docs {
			all := true
			for _, t := range terms {
				all = all && d[t]
			}
			if all {
				c++
			}
		}
		return float64(c) / float64(n)
	}
	// byShare lists words whose share is in [lo, hi), most frequent first
	// (ties by word, for determinism).
	byShare := func(lo, hi float64) []string {
		var out []string
		for w, c := range df {
			if s := float64(c) / float64(n); s >= lo && s < hi {
				out = append(out, w)
			}
		}
		slices.SortFunc(out, func(a, b string) int {
			if df[a] != df[b] {
				return df[b] - df[a]
			}
			return strings.Compare(a, b)
		})
		return out
	}
	spread := func(ws []string, k int) []string {
		if len(ws) <= k {
			return ws
		}
		out := make([]string, k)
		for i := range k {
			out[i] = ws[i*len(ws)/k]
		}
		return out
	}

	var qs []benchcmp.Query
	add := func(class string, filters map[string]string, terms ...string) {
		qs = append(qs, benchcmp.Query{Class: class, Terms: terms, Filters: filters, Facets: []string{"status", "severity"}, Size: 10})
	}

	// Broad: pairs of common words whose AND still matches over 30%, and
	// the commonest single words.
	common := byShare(0.45, 1.01)
	broad := 0
	for i := 0; i < len(common) && broad < perClass; i++ {
		if broad%2 == 0 {
			if s := share(common[i]); s > 0.30 {
				add(classBroad, nil, common[i])
				broad++
			}
			continue
		}
		for j := i + 1; j < len(common); j++ {
			if s := share(common[i], common[j]); s > 0.30 {
				add(classBroad, nil, common[i], common[j])
				broad++
				break
			}
		}
	}
	// Mid: single words of 1.5–8%, and pairs of common words whose AND
	// lands in 1–10%.
	for _, w := range spread(byShare(0.015, 0.08), perClass-perClass/3) {
		add(classMid, nil, w)
	}
	mids := byShare(0.10, 0.25)
	for i, found := 0, 0; i+1 < len(mids) && found < perClass/3; i += 2 {
		if s := share(mids[i], mids[i+1]); s >= 0.01 && s < 0.10 {
			add(classMid, nil, mids[i], mids[i+1])
			found++
		}
	}
	// Selective: words in 0.1–0.8% of documents.
	for _, w := range spread(byShare(0.001, 0.008), perClass) {
		add(classSelective, nil, w)
	}
	// Filter: a word of 5–40% with the cases in one status.
	statuses := []string{"investigating", "new", "triage", "pending_review", "actioned"}
	for i, w := range spread(byShare(0.05, 0.40), perClass) {
		add(classFilter, map[string]string{"type": "case", "status": statuses[i%len(statuses)]}, w)
	}
	return qs
}

// queryText is a query as the report shows it.
func queryText(q benchcmp.Query) string {
	s := strings.Join(q.Terms, " ")
	keys := make([]string, 0, len(q.Filters))
	for k := range q.Filters {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s += fmt.Sprintf(" %s:%s", k, q.Filters[k])
	}
	return s
}
