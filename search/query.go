package search

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"casefile.dev/casefile/internal/errs"
)

// Query limits: anything beyond them is refused before Bleve sees it.
const (
	MaxQueryLen = 1024
	MaxClauses  = 32
)

// aliases map what users type to index fields.
var aliases = map[string]string{
	"created": "created_at", "updated": "updated_at", "area": "policy_area", "category": "root_cause_category",
	"rc": "root_cause_category", "actor": "actor_id", "tags": "tag",
}

// searchedText are the fields a plain word is looked for in, with boosts.
var searchedText = []struct {
	field string
	boost float64
}{{"title", 3}, {"summary", 2}, {"key", 3}, {"body", 1}, {"notes", 1}, {"evidence", 1}, {"root_causes", 1}}

// keyLike matches case and incident keys in any letter case.
var keyLike = regexp.MustCompile(`(?i)^(cf|inc)-[0-9]{4}-[0-9]+$`)

// severityGravity maps severities to the gravity field.
var severityGravity = map[string]float64{"sev0": 5, "sev1": 4, "sev2": 3, "sev3": 2, "sev4": 1}

func badQuery(format string, args ...any) error {
	return &errs.Error{Code: errs.Invalid, Message: "the search query is not valid", Fields: []errs.FieldError{{Field: "q", Message: fmt.Sprintf(format, args...)}}}
}

// clause is one parsed element of a user query.
type clause struct {
	negate bool
	field  string // "" for free text
	value  string
	phrase bool
}

// tokenize splits a user query into clauses: words, "phrases",
// field:value, field:"a phrase", field:a..b, each optionally prefixed with -.
func tokenize(q string) ([]clause, error) {
	if len(q) > MaxQueryLen {
		return nil, badQuery("is longer than %d bytes", MaxQueryLen)
	}
	if !utf8.ValidString(q) {
		return nil, badQuery("is not valid UTF-8")
	}
	var out []clause
	rs := []rune(q)
	for i := 0; i < len(rs); {
		if unicode.IsSpace(rs[i]) {
			i++
			continue
		}
		c := clause{}
		if rs[i] == '-' {
			c.negate = true
			i++
		}
		start := i
		// A field name: letters and underscores up to ':'.
		for i < len(rs) && (unicode.IsLetter(rs[i]) || rs[i] == '_') {
			i++
		}
		if i < len(rs) && rs[i] == ':' && i > start {
			c.field = strings.ToLower(string(rs[start:i]))
			i++
		} else {
			i = start
		}
		if i < len(rs) && rs[i] == '"' {
			end := i + 1
			for end < len(rs) && rs[end] != '"' {
				end++
			}
			if end == len(rs) {
				return nil, badQuery("has an unclosed quote")
			}
			c.value, c.phrase = string(rs[i+1:end]), true
			i = end + 1
		} else {
			end := i
			for end < len(rs) && !unicode.IsSpace(rs[end]) {
				end++
			}
			c.value = string(rs[i:end])
			i = end
		}
		if strings.TrimSpace(c.value) == "" {
			if c.negate && c.field == "" {
				continue // a lone "-"
			}
			return nil, badQuery("has an empty value")
		}
		if !c.phrase {
			switch {
			case strings.ContainsAny(c.value, "()"):
				return nil, badQuery("grouping with parentheses is not supported")
			case strings.HasPrefix(c.value, "*") || strings.HasPrefix(c.value, "?"):
				return nil, badQuery("leading wildcards are not supported")
			case strings.HasPrefix(c.value, "/") && len(c.value) > 1:
				return nil, badQuery("regular expressions are not supported")
			}
		}
		out = append(out, c)
		if len(out) > MaxClauses {
			return nil, badQuery("has more than %d terms", MaxClauses)
		}
	}
	return out, nil
}

// ParseQuery is the Bleve query of a user's query string (nil for an empty
// one), before Search ANDs in the caller's visibility filter. It is
// exported for the benchmark that runs the very same query on raw Bleve.
func ParseQuery(q string) (query.Query, error) { return parseQuery(q) }

// parseQuery turns a user query into a Bleve query (nil for an empty one)
// and the free-text words, for highlighting and similarity.
func parseQuery(q string) (query.Query, error) {
	clauses, err := tokenize(q)
	if err != nil || len(clauses) == 0 {
		return nil, err
	}
	bq := bleve.NewBooleanQuery()
	positive := 0
	for _, c := range clauses {
		cq, err := clauseQuery(c)
		if err != nil {
			return nil, err
		}
		if c.negate {
			bq.AddMustNot(cq)
		} else {
			bq.AddMust(cq)
			positive++
		}
	}
	if positive == 0 {
		// Only exclusions: everything but them.
		bq.AddMust(bleve.NewMatchAllQuery())
	}
	return bq, nil
}

func clauseQuery(c clause) (query.Query, error) {
	field := c.field
	if a, ok := aliases[field]; ok {
		field = a
	}
	value := c.value
	if keyLike.MatchString(value) {
		value = strings.ToUpper(value) // keys are stored as CF-2026-1, INC-2026-4
	}
	c.value = value
	switch {
	case field == "":
		return textQuery(c.value, c.phrase), nil
	case slices.Contains(textFields, field):
		if c.phrase {
			q := bleve.NewMatchPhraseQuery(c.value)
			q.SetField(field)
			return q, nil
		}
		q := bleve.NewMatchQuery(c.value)
		q.SetField(field)
		return q, nil
	case field == "severity" && strings.Contains(c.value, ".."):
		return severityRange(c.value)
	case slices.Contains(keywordFields, field):
		q := bleve.NewTermQuery(c.value)
		q.SetField(field)
		return q, nil
	case field == "created_at" || field == "updated_at":
		return dateRange(field, c.value)
	}
	return nil, badQuery("%q is not a field you can search; try title, status, severity, policy_area, team, vendor, created", c.field)
}

// textQuery looks for a word or phrase in every searched text field.
func textQuery(v string, phrase bool) query.Query {
	dq := bleve.NewDisjunctionQuery()
	for _, f := range searchedText {
		var q interface {
			query.Query
			SetField(string)
			SetBoost(float64)
		}
		if phrase {
			q = bleve.NewMatchPhraseQuery(v)
		} else {
			m := bleve.NewMatchQuery(v)
			m.SetOperator(query.MatchQueryOperatorAnd)
			q = m
		}
		q.SetField(f.field)
		q.SetBoost(f.boost)
		dq.AddQuery(q)
	}
	return dq
}

func severityRange(v string) (query.Query, error) {
	lo, hi, _ := strings.Cut(v, "..")
	glo, okLo := severityGravity[lo]
	ghi, okHi := severityGravity[hi]
	if (lo != "" && !okLo) || (hi != "" && !okHi) {
		return nil, badQuery("severity ranges look like severity:sev1..sev3")
	}
	// sev1..sev3 means from the gravest to the mildest named.
	var min, max *float64
	if lo != "" {
		max = &glo
	}
	if hi != "" {
		min = &ghi
	}
	if min != nil && max != nil && *min > *max {
		min, max = max, min
	}
	t := true
	q := bleve.NewNumericRangeInclusiveQuery(min, max, &t, &t)
	q.SetField("gravity")
	return q, nil
}

// dateRange reads created:2026-01-01 (that day), created:2026-01-01..2026-02-01
// (end exclusive) and open ends created:2026-01-01.. or created:..2026-02-01.
func dateRange(field, v string) (query.Query, error) {
	parse := func(s string) (time.Time, error) {
		if t, err := time.Parse("2006-01-02", s); err == nil {
			return t, nil
		}
		return time.Parse(time.RFC3339, s)
	}
	var from, to time.Time
	if lo, hi, ok := strings.Cut(v, ".."); ok {
		var err error
		if lo != "" {
			if from, err = parse(lo); err != nil {
				return nil, badQuery("dates look like 2026-01-31")
			}
		}
		if hi != "" {
			if to, err = parse(hi); err != nil {
				return nil, badQuery("dates look like 2026-01-31")
			}
		}
	} else {
		d, err := parse(v)
		if err != nil {
			return nil, badQuery("dates look like 2026-01-31")
		}
		from, to = d, d.AddDate(0, 0, 1)
	}
	return dateBetween(field, from, to), nil
}
