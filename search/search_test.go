package search_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/search"
)

// Helpers shared by the search_test files.

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// The roles of the permission tests.
var (
	admin = &auth.User{Username: "ada", Role: auth.RoleAdmin}
	lead  = &auth.User{Username: "lee", Role: auth.RoleLead, Team: "t1"}
	// ivy is an investigator of team t1.
	ivy = &auth.User{Username: "ivy", Role: auth.RoleInvestigator, Team: "t1"}
	// rita is an investigator of team t2 who is assigned a restricted case
	// of another team.
	rita = &auth.User{Username: "rita", Role: auth.RoleInvestigator, Team: "t2"}
	vera = &auth.User{Username: "vera", Role: auth.RoleVendorAgent, Vendor: "v1"}
	lena = &auth.User{Username: "lena", Role: auth.RoleLeadership}

	roles = []*auth.User{admin, lead, ivy, rita, vera, lena}
)

// openIndex opens a new index in a temporary directory; with src it is
// rebuilt from src, so it lives on disk like a served one.
func openIndex(t testing.TB, src search.Source) *search.Index {
	t.Helper()
	x, fresh, err := search.Open(t.TempDir(), quiet)
	require.NoError(t, err)
	require.True(t, fresh)
	t.Cleanup(func() { _ = x.Close() })
	if src != nil {
		_, err := x.Rebuild(context.Background(), src, 100)
		require.NoError(t, err)
	}
	return x
}

// canOpen is the permission the visibility filter must mirror: what a user
// could open by id.
func canOpen(u *auth.User, d search.Doc) bool {
	switch d.Type {
	case search.TypeCase:
		return auth.Can(u, auth.ReadCase, auth.Resource{Team: d.Team, Vendor: d.Vendor, Assignee: d.Assignee, Restricted: d.Restricted})
	case search.TypeIncident:
		// Leadership reads incident summaries, not what the index holds.
		return auth.Can(u, auth.ReadIncident, auth.Resource{}) && auth.Can(u, auth.EditIncident, auth.Resource{})
	case search.TypePostmortem:
		return d.Published && auth.Can(u, auth.ReadPostmortem, auth.Resource{Published: true})
	}
	return false
}

func hitKey(h search.Hit) string { return h.Type + ":" + h.ID }

// keys is the sorted type:id of every hit.
func keys(res search.Result) []string {
	out := make([]string, 0, len(res.Hits))
	for _, h := range res.Hits {
		out = append(out, hitKey(h))
	}
	slices.Sort(out)
	return out
}

func mustSearch(t testing.TB, s *search.Searcher, u *auth.User, r search.Request) search.Result {
	t.Helper()
	res, err := s.Search(context.Background(), u, r)
	require.NoError(t, err, "query %q", r.Query)
	return res
}

// find runs q for u and returns the sorted keys of its hits (up to 200).
func find(t testing.TB, s *search.Searcher, u *auth.User, q string) []string {
	t.Helper()
	return keys(mustSearch(t, s, u, search.Request{Query: q, Size: search.MaxSize}))
}

func isCode(err error, code errs.Code) bool { return errs.CodeOf(err) == code }

// waitFor polls cond every 10 ms until it holds or timeout passes and
// returns how long it took (timeout+ when it never held).
func waitFor(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// doc is a small hand-made document.
func doc(typ, id, title, body string) search.Doc {
	created := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	d := search.Doc{Type: typ, ID: id, Key: strings.ToUpper(id), Title: title, Body: body, Status: "new", Severity: "sev3", Gravity: 2,
		CreatedAt: created, UpdatedAt: created, Month: created.Format("2006-01")}
	switch typ {
	case search.TypeCase:
		d.Team, d.PolicyAreas = "t1", []string{"fraud_scam"}
	case search.TypeIncident:
		d.Status, d.RootCauseCategories = "investigating", []string{"process"}
	case search.TypePostmortem:
		d.Status, d.Published = "published", true
	}
	return d
}

// allFacets is every facet a request may ask for.
var allFacets = []string{"type", "status", "severity", "policy_area", "root_cause_category", "team", "vendor", "month"}

// secret is a document of one visibility class, with a word no other
// document has and field values (month, policy area, category) the base
// documents rarely or never have, so that a leak would show in facets.
func secrets() []search.Doc {
	created := time.Date(2026, 2, 14, 9, 0, 0, 0, time.UTC)
	mk := func(typ, id string, edit func(*search.Doc)) search.Doc {
		d := search.Doc{Type: typ, ID: id, Key: "SECRET-" + id,
			Title:   "Coordinated refund fraud ring " + id,
			Summary: "Chargeback and ban evasion by a merchant network.",
			Body:    "The zqsecret" + id + "x accounts used stolen cards. Refund account merchant review.",
			Notes:   "Escalated after the livestream.",
			Status:  "investigating", Severity: "sev1", Gravity: 4, PolicyAreas: []string{"child_safety"},
			CreatedAt: created, UpdatedAt: created, Month: created.Format("2006-01")}
		edit(&d)
		return d
	}
	return []search.Doc{
		mk(search.TypeCase, "teamtwo", func(d *search.Doc) { d.Team, d.Assignee = "t2", "inv05" }),
		mk(search.TypeCase, "restrictedteamone", func(d *search.Doc) { d.Team, d.Assignee, d.Restricted = "t1", "inv07", true }),
		mk(search.TypeCase, "restrictedrita", func(d *search.Doc) { d.Team, d.Assignee, d.Restricted = "t5", "rita", true }),
		mk(search.TypeCase, "restrictedivy", func(d *search.Doc) { d.Team, d.Assignee, d.Restricted = "t7", "ivy", true }),
		mk(search.TypeCase, "restrictedvendorone", func(d *search.Doc) { d.Team, d.Vendor, d.Restricted = "t3", "v1", true }),
		mk(search.TypeCase, "vendortwo", func(d *search.Doc) { d.Team, d.Vendor = "t3", "v2" }),
		mk(search.TypeCase, "vendorone", func(d *search.Doc) { d.Team, d.Vendor = "t4", "v1" }),
		mk(search.TypeCase, "teamone", func(d *search.Doc) { d.Team = "t1" }),
		mk(search.TypeCase, "unassigned", func(d *search.Doc) {}),
		mk(search.TypeIncident, "incident", func(d *search.Doc) {
			d.Severity, d.Gravity, d.RootCauseCategories, d.Subcategories = "sev0", 5, []string{"policy"}, []string{"policy/policy_gap"}
			d.RootCauses = "Ambiguous guidance about refund fraud."
		}),
		mk(search.TypePostmortem, "published", func(d *search.Doc) { d.Status, d.Published = "published", true }),
		mk(search.TypePostmortem, "draft", func(d *search.Doc) { d.Status = "draft" }),
	}
}

func uniqueOf(d search.Doc) string { return "zqsecret" + d.ID + "x" }

// snapshot is what a search reveals: total, facet counts, which hits and
// their highlights (scores depend on index statistics and are not
// compared).
type snapshot struct {
	Total      uint64
	Facets     map[string]map[string]int
	Hits       []string
	Highlights map[string]map[string][]string
}

func snap(res search.Result) snapshot {
	s := snapshot{Total: res.Total, Facets: map[string]map[string]int{}, Hits: keys(res), Highlights: map[string]map[string][]string{}}
	for name, terms := range res.Facets {
		m := map[string]int{}
		for _, ft := range terms {
			m[ft.Term] = ft.Count
		}
		s.Facets[name] = m
	}
	for _, h := range res.Hits {
		s.Highlights[hitKey(h)] = h.Highlights
	}
	return s
}

// leakQueries are the queries aimed at secret d: its unique word, its
// words and phrases, its field values, an exclusion of it, and everything.
func leakQueries(d search.Doc) []string {
	qs := []string{
		uniqueOf(d),
		"coordinated refund fraud ring " + d.ID,
		`"ban evasion"`,
		"refund merchant",
		"title:" + d.ID,
		"-" + uniqueOf(d),
		"severity:sev0..sev1 created:2026-02-01..2026-03-01",
		"policy_area:child_safety",
		"",
	}
	if d.Team != "" {
		qs = append(qs, "team:"+d.Team)
	}
	if d.Vendor != "" {
		qs = append(qs, "vendor:"+d.Vendor)
	}
	return qs
}

// baseDocs are a realistic background: corpus documents, some of them
// assigned to the test investigators.
func baseDocs() []search.Doc {
	g := corpus.New(11)
	var docs []search.Doc
	for i := range 120 {
		d := g.Doc(i)
		switch i % 17 {
		case 1:
			d.Assignee = "ivy"
		case 2:
			d.Assignee = "rita"
		}
		docs = append(docs, d)
	}
	return docs
}

// TestPermissionLeaks: for every role and every visibility class, adding a
// document the role may not open changes nothing the role can observe —
// total, any facet count, any hit or highlight — for queries aimed at that
// document. A document the role may open is found. Every hit of every
// search passes the permission check.
func TestPermissionLeaks(t *testing.T) {
	ctx := context.Background()
	src := corpus.NewSource()
	for _, d := range baseDocs() {
		src.Put(d)
	}
	x := openIndex(t, src)
	f := search.NewFeed(x, src, quiet, nil)
	_, err := f.CatchUp(ctx)
	require.NoError(t, err)
	s := search.NewSearcher(x)

	run := func(u *auth.User, q string) search.Result {
		res := mustSearch(t, s, u, search.Request{Query: q, Size: search.MaxSize, Facets: allFacets, Highlight: true})
		for _, h := range res.Hits {
			c, err := src.Document(ctx, h.Type, h.ID)
			require.NoError(t, err)
			require.False(t, c.Deleted)
			require.True(t, canOpen(u, c.Doc), "%s (%s) got %s, which they may not open, for %q", u.Username, u.Role, hitKey(h), q)
		}
		return res
	}

	for _, secret := range secrets() {
		t.Run(secret.Type+"_"+secret.ID, func(t *testing.T) {
			without := map[string]map[string]snapshot{}
			for _, u := range roles {
				without[u.Username] = map[string]snapshot{}
				for _, q := range leakQueries(secret) {
					without[u.Username][q] = snap(run(u, q))
				}
			}
			c := src.Put(secret)
			require.NoError(t, f.Notify(ctx, c.Type, c.ID))
			for _, u := range roles {
				may := canOpen(u, secret)
				for _, q := range leakQueries(secret) {
					got := snap(run(u, q))
					if !may {
						assert.Equal(t, without[u.Username][q], got, "%s (%s) may not open %s, yet %q changed", u.Username, u.Role, secret.ID, q)
					}
				}
				found := keys(run(u, uniqueOf(secret)))
				if may {
					assert.Equal(t, []string{secret.Type + ":" + secret.ID}, found, "%s (%s) may open %s", u.Username, u.Role, secret.ID)
				} else {
					assert.Empty(t, found)
				}
			}
			c = src.Delete(secret.Type, secret.ID)
			require.NoError(t, f.Notify(ctx, c.Type, c.ID))
		})
	}

	// Sanity: the classes really cover each role both ways.
	for _, u := range roles {
		var may, mayNot int
		for _, d := range secrets() {
			if canOpen(u, d) {
				may++
			} else {
				mayNot++
			}
		}
		assert.True(t, u.Role == auth.RoleAdmin || u.Role == auth.RoleLead || mayNot > 0, "%s", u.Username)
		assert.Positive(t, may, "%s may open some secret", u.Username)
	}
}

// TestVisibilityMatchesCan compares, over a whole generated corpus, the
// documents each role finds with the documents auth.Can lets it open.
func TestVisibilityMatchesCan(t *testing.T) {
	g := corpus.New(12)
	src := corpus.NewSource()
	var docs []search.Doc
	for i := range 200 {
		d := g.Doc(i)
		if i%5 == 0 {
			d.Assignee = []string{"ivy", "rita", "inv01"}[i%3]
		}
		if i%19 == 0 && d.Type == search.TypePostmortem {
			d.Published = false
		}
		docs = append(docs, d)
		src.Put(d)
	}
	s := search.NewSearcher(openIndex(t, src))
	for _, u := range roles {
		var want []string
		for _, d := range docs {
			if canOpen(u, d) {
				want = append(want, d.Type+":"+d.ID)
			}
		}
		slices.Sort(want)
		var got []string
		for from := 0; ; from += search.MaxSize {
			res := mustSearch(t, s, u, search.Request{From: from, Size: search.MaxSize, Sort: "key"})
			got = append(got, keys(res)...)
			if len(res.Hits) < search.MaxSize {
				break
			}
		}
		slices.Sort(got)
		if len(want) == 0 {
			want = []string{}
		}
		if got == nil {
			got = []string{}
		}
		assert.Equal(t, want, got, "%s (%s)", u.Username, u.Role)
	}
}

func TestFacets(t *testing.T) {
	src := corpus.NewSource()
	mk := func(id, team, status string, areas ...string) search.Doc {
		d := doc(search.TypeCase, id, "Refund case "+id, "refund")
		d.Team, d.Status, d.PolicyAreas = team, status, areas
		return d
	}
	src.PutAll(
		mk("a", "t1", "new", "fraud_scam"),
		mk("b", "t1", "triage", "fraud_scam", "spam"),
		mk("c", "t2", "new", "spam"),
		mk("d", "t3", "closed", "privacy"), // ivy may not open t2/t3 cases
		doc(search.TypeIncident, "i", "Refund incident", "refund"),
	)
	s := search.NewSearcher(openIndex(t, src))
	res := mustSearch(t, s, admin, search.Request{Query: "refund", Facets: []string{"team", "status", "policy_area", "type", "month"}})
	assert.Equal(t, uint64(5), res.Total)
	assert.Equal(t, map[string]map[string]int{
		"team":        {"t1": 2, "t2": 1, "t3": 1},
		"status":      {"new": 2, "triage": 1, "closed": 1, "investigating": 1},
		"policy_area": {"fraud_scam": 2, "spam": 2, "privacy": 1},
		"type":        {"case": 4, "incident": 1},
		"month":       {"2025-06": 5},
	}, snap(res).Facets)
	assert.Equal(t, []search.FacetTerm{{Term: "t1", Count: 2}, {Term: "t2", Count: 1}, {Term: "t3", Count: 1}}, res.Facets["team"], "most frequent first")

	res = mustSearch(t, s, ivy, search.Request{Query: "refund", Facets: []string{"team", "status", "policy_area", "type"}})
	assert.Equal(t, uint64(3), res.Total)
	assert.Equal(t, map[string]map[string]int{
		"team":        {"t1": 2},
		"status":      {"new": 1, "triage": 1, "investigating": 1},
		"policy_area": {"fraud_scam": 2, "spam": 1},
		"type":        {"case": 2, "incident": 1},
	}, snap(res).Facets)

	res = mustSearch(t, s, lena, search.Request{Query: "refund", Facets: []string{"team", "type"}})
	assert.Zero(t, res.Total, "leadership finds neither cases nor incidents")
	assert.Equal(t, map[string][]search.FacetTerm{"team": {}, "type": {}}, res.Facets)
}

func TestHighlights(t *testing.T) {
	src := corpus.NewSource()
	d := doc(search.TypeCase, "x", `Refund <script>alert("chargeback")</script> & <b>scam</b>`,
		"A long body about an unrelated matter. Then the chargeback came, with a <img src=x onerror=alert(1)> tag.")
	d.Summary = "Nothing to see here."
	src.PutAll(d)
	s := search.NewSearcher(openIndex(t, src))

	res := mustSearch(t, s, admin, search.Request{Query: "chargeback", Highlight: true})
	require.Len(t, res.Hits, 1)
	h := res.Hits[0]
	assert.Equal(t, d.Title, h.Title, "the title is returned as stored; clients escape it")
	require.Contains(t, h.Highlights, "title")
	require.Contains(t, h.Highlights, "body")
	assert.NotContains(t, h.Highlights, "summary", "only fragments that show a match")
	for field, frags := range h.Highlights {
		for _, f := range frags {
			assert.Contains(t, f, "<mark>chargeback</mark>", field)
			rest := strings.NewReplacer("<mark>", "", "</mark>", "").Replace(f)
			assert.NotContains(t, rest, "<", "%s: everything but the marks is escaped: %s", field, f)
			assert.NotContains(t, rest, ">", "%s: %s", field, f)
		}
	}
	assert.Contains(t, h.Highlights["title"][0], "&lt;script&gt;")
	assert.Contains(t, h.Highlights["body"][0], "&lt;img src=x onerror=alert(1)&gt;")

	// The markup's words are text like any other: escaped around the mark.
	res = mustSearch(t, s, admin, search.Request{Query: "script", Highlight: true})
	require.Len(t, res.Hits, 1)
	assert.Contains(t, res.Hits[0].Highlights["title"][0], "&lt;<mark>script</mark>&gt;")

	// Stemmed and phrase matches are marked too.
	res = mustSearch(t, s, admin, search.Request{Query: `refunds "the chargeback came"`, Highlight: true})
	require.Len(t, res.Hits, 1)
	assert.Contains(t, res.Hits[0].Highlights["title"][0], "<mark>Refund</mark>")
	assert.Contains(t, res.Hits[0].Highlights["body"][0], "<mark>chargeback</mark>")

	// Without Highlight, none.
	res = mustSearch(t, s, admin, search.Request{Query: "chargeback"})
	assert.Nil(t, res.Hits[0].Highlights)
}

// The highlighting pass supplies the hits' fields: with highlights, a page
// has the same hits, in the same order, with the same fields and scores.
func TestHighlightsKeepTheHitsAsTheyWere(t *testing.T) {
	src := corpus.NewSource()
	var docs []search.Doc
	for i := range 6 {
		d := doc(search.TypeCase, fmt.Sprintf("h%d", i), "refund "+strings.Repeat("scam ", i), "a refund request")
		d.Status, d.Severity = []string{"new", "triage"}[i%2], []string{"sev1", "sev2", "sev3"}[i%3]
		docs = append(docs, d)
	}
	docs = append(docs, doc(search.TypeIncident, "i1", "refund outage", "scam refunds failed"))
	src.PutAll(docs...)
	s := search.NewSearcher(openIndex(t, src))

	for _, sort := range []string{"", "-created_at", "key"} {
		plain := mustSearch(t, s, admin, search.Request{Query: "refund scam", Sort: sort, Size: 5})
		marked := mustSearch(t, s, admin, search.Request{Query: "refund scam", Sort: sort, Size: 5, Highlight: true})
		require.Len(t, plain.Hits, 5, sort)
		require.Len(t, marked.Hits, len(plain.Hits), sort)
		assert.Equal(t, plain.Total, marked.Total)
		for i, h := range marked.Hits {
			p := plain.Hits[i]
			assert.Equal(t, []any{p.Type, p.ID, p.Key, p.Title, p.Score}, []any{h.Type, h.ID, h.Key, h.Title, h.Score}, "sort %q, hit %d", sort, i)
			assert.Equal(t, p.Fields, h.Fields, "sort %q, hit %d", sort, i)
			assert.NotEmpty(t, h.Highlights, "sort %q, hit %d", sort, i)
			if h.Type == search.TypeCase {
				assert.Equal(t, "t1", h.Fields["team"], "sort %q, hit %d", sort, i)
			}
		}
	}
}

func TestSimilar(t *testing.T) {
	ctx := context.Background()
	mk := func(typ, id, team, title, body string) search.Doc {
		d := doc(typ, id, title, body)
		if typ == search.TypeCase {
			d.Team = team
		}
		return d
	}
	crypto := "Pig butchering romance scam: the victim was groomed for weeks, then moved crypto into a fake investment wallet. Withdrawal blocked, fees demanded."
	src := corpus.NewSource()
	src.PutAll(
		mk(search.TypeCase, "a", "t1", "Pig butchering romance scam", crypto+" zquniqueax"),
		mk(search.TypeCase, "b", "t1", "Crypto investment scam after romance", "Romance scam moving crypto to a fake investment wallet; withdrawal blocked."),
		mk(search.TypeCase, "c", "t2", "Pig butchering wallet fraud", crypto),
		mk(search.TypeIncident, "i", "", "Missed pig butchering detections", "The romance scam classifier missed crypto investment wallet lures."),
		mk(search.TypeCase, "d", "t1", "Counterfeit sneakers listing", "Replica sneakers sold as genuine; trademark complaint from the brand."),
		mk(search.TypeCase, "e", "t1", "Spam comments", "Link spam in comments on a livestream."),
	)
	// Background documents, so that term statistics look like a real index.
	g := corpus.New(13)
	for i := range 40 {
		src.Put(g.Doc(i))
	}
	s := search.NewSearcher(openIndex(t, src))

	res, err := s.Similar(ctx, admin, search.TypeCase, "a", 5)
	require.NoError(t, err)
	got := keys(res)
	assert.NotContains(t, got, "case:a", "never itself")
	assert.Subset(t, got, []string{"case:b", "case:c", "incident:i"})
	require.NotEmpty(t, res.Hits)
	assert.Equal(t, "case:c", hitKey(res.Hits[0]), "the near-copy ranks first")
	assert.NotContains(t, got, "case:d")

	res, err = s.Similar(ctx, ivy, search.TypeCase, "a", 10)
	require.NoError(t, err)
	for _, h := range res.Hits {
		c, _ := src.Document(ctx, h.Type, h.ID)
		assert.True(t, canOpen(ivy, c.Doc), "ivy got %s", hitKey(h))
	}
	assert.NotContains(t, keys(res), "case:c", "a case of another team is never suggested")
	assert.Contains(t, keys(res), "case:b")

	_, err = s.Similar(ctx, ivy, search.TypeCase, "c", 10)
	assert.True(t, isCode(err, errs.NotFound), "a case ivy may not open is not found: %v", err)
	_, err = s.Similar(ctx, lena, search.TypeIncident, "i", 10)
	assert.True(t, isCode(err, errs.NotFound), "%v", err)
	_, err = s.Similar(ctx, admin, search.TypeCase, "nope", 10)
	assert.True(t, isCode(err, errs.NotFound), "%v", err)

	res, err = s.Similar(ctx, vera, search.TypeCase, "a", 10)
	assert.True(t, isCode(err, errs.NotFound), "%v", err)
	assert.Empty(t, res.Hits)

	// Size is bounded.
	res, err = s.Similar(ctx, admin, search.TypeCase, "a", 1)
	require.NoError(t, err)
	assert.Len(t, res.Hits, 1)
}
