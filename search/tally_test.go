package search_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/search"
)

// incidentWith is an incident change at seq with n root-cause children,
// each with word in its text.
func incidentWith(id string, seq int64, n int, word string) search.Change {
	d := doc(search.TypeIncident, id, "Queue backlog", "")
	c := search.Change{Type: search.TypeIncident, ID: id, Seq: seq, Doc: d}
	for i := range n {
		child := search.Doc{Type: search.TypeRootCause, ID: fmt.Sprintf("%s/rc/%04d", id, i), Key: d.Key,
			RootCauses: "the dedup job dropped reports " + word, RootCauseCategories: []string{"product"},
			Subcategories: []string{"product/bug"}, CreatedAt: d.CreatedAt.Add(time.Duration(i) * time.Hour)}
		c.Children = append(c.Children, child)
	}
	return c
}

func countOf(t *testing.T, s *search.Searcher, typ string) uint64 {
	t.Helper()
	res, err := s.Tally(context.Background(), admin, search.Tally{Types: []string{typ}})
	require.NoError(t, err)
	return res.Total
}

// TestChildrenFollowTheirParent: an incident's report documents are
// replaced by each new version of it and go when it goes, even when two
// versions arrive in one batch.
func TestChildrenFollowTheirParent(t *testing.T) {
	x := openIndex(t, nil)
	s := search.NewSearcher(x)
	steps := []struct {
		name    string
		changes []search.Change
		want    uint64
	}{
		{"three root causes", []search.Change{incidentWith("i1", 1, 3, ""), incidentWith("i2", 2, 2, "")}, 5},
		{"i1 down to one", []search.Change{incidentWith("i1", 3, 1, "")}, 3},
		{"two versions in one batch", []search.Change{incidentWith("i1", 4, 4, ""), incidentWith("i1", 5, 2, "")}, 4},
		{"i2 deleted", []search.Change{{Type: search.TypeIncident, ID: "i2", Seq: 6, Deleted: true}}, 2},
		{"i1 without root causes", []search.Change{incidentWith("i1", 7, 0, "")}, 0},
	}
	for _, step := range steps {
		require.NoError(t, x.Apply(step.changes, step.changes[len(step.changes)-1].Seq), step.name)
		assert.Equal(t, step.want, countOf(t, s, search.TypeRootCause), step.name)
	}
	assert.Equal(t, uint64(1), countOf(t, s, search.TypeIncident))
}

// TestReportDocumentsAreNeverSearched: for every role, report documents
// add nothing to search hits, totals or facets.
func TestReportDocumentsAreNeverSearched(t *testing.T) {
	x := openIndex(t, nil)
	s := search.NewSearcher(x)
	require.NoError(t, x.Apply([]search.Change{incidentWith("i1", 1, 2, "zqchildonly")}, 1))
	for _, u := range roles {
		res := mustSearch(t, s, u, search.Request{Query: "zqchildonly", Facets: []string{"type"}})
		assert.Zero(t, res.Total, u.Username)
		res = mustSearch(t, s, u, search.Request{Facets: []string{"type", "root_cause_category"}})
		for _, f := range res.Facets["type"] {
			assert.Contains(t, []string{search.TypeCase, search.TypeIncident, search.TypePostmortem}, f.Term, u.Username)
		}
		for _, f := range res.Facets["root_cause_category"] {
			assert.LessOrEqual(t, f.Count, int(res.Total), u.Username)
		}
	}
}

// TestTallyIsForReportReaders: roles without reports are refused; the
// others count incidents and their report documents.
func TestTallyIsForReportReaders(t *testing.T) {
	x := openIndex(t, nil)
	s := search.NewSearcher(x)
	require.NoError(t, x.Apply([]search.Change{incidentWith("i1", 1, 2, "")}, 1))
	for _, u := range roles {
		res, err := s.Tally(context.Background(), u, search.Tally{Types: []string{search.TypeRootCause}})
		if !auth.Can(u, auth.ReadReports, auth.Resource{}) {
			assert.True(t, isCode(err, errs.Forbidden), u.Username)
			continue
		}
		require.NoError(t, err, u.Username)
		assert.Equal(t, uint64(2), res.Total, u.Username)
	}
	// Case reports still only count the cases the caller may open.
	hidden := doc(search.TypeCase, "c1", "Hidden", "")
	hidden.Team = "t9"
	require.NoError(t, x.Apply([]search.Change{{Type: search.TypeCase, ID: "c1", Seq: 2, Doc: hidden}}, 2))
	res, err := s.Tally(context.Background(), lena, search.Tally{Types: []string{search.TypeCase}})
	require.NoError(t, err)
	assert.Zero(t, res.Total, "leadership opens no cases")
}

// TestTallyBucketsSpanAndRows: date buckets, the span of created_at, and
// rows read page by page in created_at order, each once.
func TestTallyBucketsSpanAndRows(t *testing.T) {
	x := openIndex(t, nil)
	s := search.NewSearcher(x)
	const n = 2500 // more than one page of rows
	in := incidentWith("i1", 1, n, "")
	require.NoError(t, x.Apply([]search.Change{in}, 1))
	first := in.Children[0].CreatedAt
	res, err := s.Tally(context.Background(), admin, search.Tally{
		Types: []string{search.TypeRootCause}, Span: true, Rows: true, Fields: []string{"created_at"},
		Ranges: []search.Range{{Field: "created_at", From: first.Add(10 * time.Hour)}},
		Facets: map[string]search.Facet{
			"day": {Field: "created_at", Buckets: []time.Time{first, first.Add(24 * time.Hour), first.Add(48 * time.Hour)}},
			"sub": {Field: "subcategory", Size: 10},
		},
	})
	require.NoError(t, err)
	assert.Equal(t, uint64(n-10), res.Total)
	assert.Equal(t, []int{14, 24}, res.Buckets["day"], "hours 10-23 on day one, 24 on day two")
	assert.Equal(t, []search.FacetTerm{{Term: "product/bug", Count: n - 10}}, res.Facets["sub"])
	assert.Equal(t, first.Add(10*time.Hour), res.Earliest)
	assert.Equal(t, first.Add((n-1)*time.Hour), res.Latest)
	require.Len(t, res.Rows, n-10)
	for i, r := range res.Rows {
		require.Equal(t, first.Add(time.Duration(10+i)*time.Hour), r.Time("created_at"), "row %d", i)
	}
}
