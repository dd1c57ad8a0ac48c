package search

// White-box tests of the query language: the tokenizer and what each
// construct matches. (Package search, so that it can see tokenize; it
// cannot import internal/corpus, which imports this package.)

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want []clause
	}{
		{"", nil},
		{"   ", nil},
		{"refund", []clause{{value: "refund"}}},
		{"refund  chargeback", []clause{{value: "refund"}, {value: "chargeback"}}},
		{`"ban evasion"`, []clause{{value: "ban evasion", phrase: true}}},
		{`status:triage`, []clause{{field: "status", value: "triage"}}},
		{`Title:refund`, []clause{{field: "title", value: "refund"}}},
		{`title:"ban evasion"`, []clause{{field: "title", value: "ban evasion", phrase: true}}},
		{`-spam`, []clause{{negate: true, value: "spam"}}},
		{`-team:t1`, []clause{{negate: true, field: "team", value: "t1"}}},
		{`-"a b"`, []clause{{negate: true, value: "a b", phrase: true}}},
		{`severity:sev1..sev3`, []clause{{field: "severity", value: "sev1..sev3"}}},
		{`created:2026-01-01..`, []clause{{field: "created", value: "2026-01-01.."}}},
		{`e-mail 12:30`, []clause{{value: "e-mail"}, {value: "12:30"}}},
		{`a - b`, []clause{{value: "a"}, {value: "b"}}},
		{`wild*card`, []clause{{value: "wild*card"}}},
		{`"(not a group)"`, []clause{{value: "(not a group)", phrase: true}}},
		{"über straße", []clause{{value: "über"}, {value: "straße"}}},
	} {
		got, err := tokenize(tc.q)
		require.NoError(t, err, "%q", tc.q)
		assert.Equal(t, tc.want, got, "%q", tc.q)
	}
}

// refusals are queries that must be refused as invalid before Bleve sees
// them, with why.
func refusals() map[string]string {
	nested := func(depth int) string {
		return strings.Repeat("(", depth) + "a" + strings.Repeat(")", depth)
	}
	return map[string]string{
		"10,000 terms":               strings.Repeat("fraud ", 10_000),
		"1 MB":                       strings.Repeat("x", 1<<20),
		"just over the length limit": strings.Repeat("a", MaxQueryLen+1),
		"33 clauses":                 strings.Repeat("ab ", MaxClauses+1),
		"leading wildcard *a*":       "*a*",
		"leading wildcard ?":         "?efund",
		"field leading wildcard":     "title:*fund",
		"regex":                      "/ref.*nd/",
		"field regex":                "team:/t[0-9]/",
		"parentheses":                "(refund OR chargeback)",
		"closing parenthesis":        "refund)",
		"nested parentheses":         nested(400),
		"1,000 nested parentheses":   nested(1000),
		"unclosed quote":             `"ban evasion`,
		"unclosed field quote":       `title:"ban`,
		"unknown field":              "password:hunter2",
		"date field not searchable":  "due:2026-01-01",
		"empty value":                "status:",
		"empty phrase":               `""`,
		"bad severity range":         "severity:sev1..sev9",
		"bad date":                   "created:yesterday",
		"bad date range":             "created:2026-01-01..soon",
		"invalid UTF-8":              "fraud \xff\xfe",
	}
}

func TestQueryRefusals(t *testing.T) {
	s := NewSearcher(memIndex(t, nil))
	u := &auth.User{Username: "ada", Role: auth.RoleAdmin}
	for name, q := range refusals() {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := s.Search(context.Background(), u, Request{Query: q})
			took := time.Since(start)
			require.Error(t, err)
			var e *errs.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, errs.Invalid, e.Code, "%v", err)
			require.NotEmpty(t, e.Fields)
			assert.Equal(t, "q", e.Fields[0].Field)
			t.Logf("refused in %s", took) // measured, not asserted
		})
	}
	// The limits themselves are allowed.
	for _, q := range []string{strings.Repeat("ab ", MaxClauses), strings.Repeat("a", MaxQueryLen), "-", "refund*", `"a (b) c"`} {
		_, err := s.Search(context.Background(), u, Request{Query: q})
		assert.NoError(t, err, "%.40q", q)
	}
}

func memIndex(t *testing.T, docs []Doc) *Index {
	t.Helper()
	x, fresh, err := Open(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	require.True(t, fresh)
	t.Cleanup(func() { _ = x.Close() })
	var changes []Change
	for i, d := range docs {
		changes = append(changes, Change{Type: d.Type, ID: d.ID, Seq: int64(i + 1), Doc: d})
	}
	require.NoError(t, x.Apply(changes, int64(len(docs))))
	return x
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// queryDocs are five documents with known fields.
func queryDocs() []Doc {
	mk := func(typ, id, key, title, body, status, sev string, gravity float64, created string) Doc {
		c := at(created)
		return Doc{Type: typ, ID: id, Key: key, Title: title, Body: body, Status: status, Severity: sev, Gravity: gravity,
			CreatedAt: c, UpdatedAt: c, Month: c.Format("2006-01")}
	}
	c1 := mk(TypeCase, "c1", "CF-2025-1", "Refund abuse ring", "Coordinated refund abuse using stolen cards and ban evasion accounts.",
		"triage", "sev2", 3, "2025-03-01T10:00:00Z")
	c1.Team, c1.PolicyAreas, c1.Tags, c1.ActorID = "t1", []string{"fraud_scam"}, []string{"vip"}, "actor-1"
	c1.UpdatedAt = at("2025-03-20T08:00:00Z")
	c2 := mk(TypeCase, "c2", "CF-2025-2", "Chargeback fraud", "Merchant chargeback disputes after refunds.",
		"new", "sev1", 4, "2025-03-31T23:59:59Z")
	c2.Team, c2.PolicyAreas, c2.ActorID = "t2", []string{"fraud_scam", "fake_reviews"}, "actor-2"
	c3 := mk(TypeCase, "c3", "CF-2025-3", "Evasion of a ban", "The ban was evaded: evasion through new accounts.",
		"closed", "sev4", 1, "2025-04-01T00:00:00Z")
	c3.Team, c3.Vendor, c3.PolicyAreas = "t1", "v1", []string{"spam"}
	i1 := mk(TypeIncident, "i1", "INC-2025-1", "Queue backlog outage", "Reports piled up for six hours.",
		"mitigated", "sev0", 5, "2025-02-10T09:00:00Z")
	i1.RootCauses, i1.RootCauseCategories, i1.Subcategories = "Human error in the handoff between shifts.", []string{"process"}, []string{"process/human_error"}
	p1 := mk(TypePostmortem, "p1", "INC-2025-1", "Refund pipeline postmortem", "What went well: the rollback.",
		"published", "sev2", 3, "2025-05-05T12:00:00Z")
	p1.Published = true
	return []Doc{c1, c2, c3, i1, p1}
}

func TestQueryLanguage(t *testing.T) {
	s := NewSearcher(memIndex(t, queryDocs()))
	u := &auth.User{Username: "ada", Role: auth.RoleAdmin}
	all := []string{"c1", "c2", "c3", "i1", "p1"}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"", all},
		{"-", all},
		// Words: every one must match, in any text field, stemmed.
		{"refund", []string{"c1", "c2", "p1"}},
		{"refunds", []string{"c1", "c2", "p1"}},
		{"REFUND", []string{"c1", "c2", "p1"}},
		{"refund chargeback", []string{"c2"}},
		{"ban evasion", []string{"c1", "c3"}},
		{"handoff", []string{"i1"}},
		{"nothinglikethis", nil},
		// Phrases: words next to each other, in order.
		{`"ban evasion"`, []string{"c1"}},
		{`"evasion ban"`, nil},
		{`"what went well"`, []string{"p1"}},
		// Keys are found as typed.
		{"CF-2025-1", []string{"c1"}},
		{"key:INC-2025-1", []string{"i1", "p1"}},
		// …and in any letter case.
		{"cf-2025-1", []string{"c1"}},
		{"key:inc-2025-1", []string{"i1", "p1"}},
		// field:value.
		{"title:refund", []string{"c1", "p1"}},
		{"Title:refund", []string{"c1", "p1"}},
		{`title:"refund abuse"`, []string{"c1"}},
		{"body:refund", []string{"c1", "c2"}},
		{"root_causes:handoff", []string{"i1"}},
		{"status:triage", []string{"c1"}},
		{"team:t1", []string{"c1", "c3"}},
		{"vendor:v1", []string{"c3"}},
		{"type:incident", []string{"i1"}},
		{"severity:sev2", []string{"c1", "p1"}},
		{"policy_area:fraud_scam", []string{"c1", "c2"}},
		{"subcategory:process/human_error", []string{"i1"}},
		// Exclusions.
		{"-team:t1", []string{"c2", "i1", "p1"}},
		{"refund -chargeback", []string{"c1", "p1"}},
		{`-"ban evasion"`, []string{"c2", "c3", "i1", "p1"}},
		{"-refund -ban", []string{"i1"}},
		// Severity ranges, gravest to mildest named, either order, open ends.
		{"severity:sev1..sev2", []string{"c1", "c2", "p1"}},
		{"severity:sev2..sev1", []string{"c1", "c2", "p1"}},
		{"severity:..sev1", []string{"c2", "i1"}},
		{"severity:sev3..", []string{"c3"}},
		{"severity:sev0..sev0", []string{"i1"}},
		// Created: a day, a range (end exclusive), open ends, RFC 3339.
		{"created:2025-03-01", []string{"c1"}},
		{"created:2025-03-01..2025-04-01", []string{"c1", "c2"}},
		{"created:2025-04-01..", []string{"c3", "p1"}},
		{"created:..2025-03-01", []string{"i1"}},
		{"created:2025-03-31T12:00:00Z..2025-04-01T00:00:01Z", []string{"c2", "c3"}},
		{"updated:2025-03-20", []string{"c1"}},
		// Aliases.
		{"area:spam", []string{"c3"}},
		{"category:process", []string{"i1"}},
		{"rc:process", []string{"i1"}},
		{"actor:actor-2", []string{"c2"}},
		{"tags:vip", []string{"c1"}},
		// Everything together.
		{"refund team:t1 severity:sev1..sev3 created:2025-03-01..2025-04-01 -chargeback", []string{"c1"}},
	} {
		res, err := s.Search(context.Background(), u, Request{Query: tc.q, Size: MaxSize})
		require.NoError(t, err, "%q", tc.q)
		var got []string
		for _, h := range res.Hits {
			got = append(got, h.ID)
		}
		slices.Sort(got)
		assert.Equal(t, tc.want, got, "%q", tc.q)
		assert.Equal(t, uint64(len(tc.want)), res.Total, "%q", tc.q)
	}
}

// TestRequestValidation: what a Request may ask for, besides its query.
func TestRequestValidation(t *testing.T) {
	s := NewSearcher(memIndex(t, queryDocs()))
	ctx := context.Background()
	u := &auth.User{Username: "ada", Role: auth.RoleAdmin}
	for name, r := range map[string]Request{
		"size too big":  {Size: MaxSize + 1},
		"size negative": {Size: -1},
		"from negative": {From: -1},
		"from too far":  {From: MaxFrom + 1},
		"unknown type":  {Types: []string{"user"}},
		"unknown sort":  {Sort: "password"},
		"unknown facet": {Facets: []string{"assignee"}},
		"bad sla state": {SLAState: "late"},
	} {
		_, err := s.Search(ctx, u, r)
		assert.True(t, errs.Is(err, errs.Invalid), "%s: %v", name, err)
	}
	_, err := s.Search(ctx, &auth.User{Username: "x", Role: auth.RoleAdmin, Disabled: true}, Request{})
	assert.True(t, errs.Is(err, errs.Forbidden), "a disabled user may not search: %v", err)
	_, err = s.Search(ctx, nil, Request{})
	assert.True(t, errs.Is(err, errs.Forbidden))

	// Sorts.
	res, err := s.Search(ctx, u, Request{Sort: "-severity", Types: []string{TypeCase}})
	require.NoError(t, err)
	assert.Equal(t, []string{"c2", "c1", "c3"}, hitIDs(res))
	res, err = s.Search(ctx, u, Request{Sort: "created_at"})
	require.NoError(t, err)
	assert.Equal(t, []string{"i1", "c1", "c2", "c3", "p1"}, hitIDs(res))
	res, err = s.Search(ctx, u, Request{Sort: "created_at", From: 3, Size: 1})
	require.NoError(t, err)
	assert.Equal(t, []string{"c3"}, hitIDs(res))
	assert.Equal(t, uint64(5), res.Total)
}

func hitIDs(res Result) []string {
	var out []string
	for _, h := range res.Hits {
		out = append(out, h.ID)
	}
	return out
}
