package web

// The insight pages: search, the reports dashboard and the admin pages
// (users, taxonomy, audit log). Templates: pages/search.html,
// dashboard.html, admin*.html; styles: static/insight.css.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/svgchart"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/search"
)

// uiInsightFuncs are this page group's template functions.
var uiInsightFuncs = template.FuncMap{
	// insightSnippet is a search highlight as HTML: <mark> around matches,
	// everything else escaped (again, whatever the index sent).
	"insightSnippet": insightSnippet,
}

// routesInsight mounts this group's pages.
func (u *ui) routesInsight(r fiber.Router) {
	r.Get("/search", u.insightGate(auth.Search, "search"), u.insightSearch)
	r.Get("/dashboard", u.insightGate(auth.ReadReports, "report"), u.insightDashboard)

	admin := r.Group("/admin")
	admin.Get("", u.insightGate(auth.ManageUsers, "admin"), u.insightAdmin)
	users := admin.Group("/users", u.insightGate(auth.ManageUsers, "user"))
	users.Get("", u.insightUsers)
	users.Get("/new", u.insightUserNew)
	users.Post("", u.insightUserCreate)
	users.Get("/:username", u.insightUserEdit)
	users.Post("/:username", u.insightUserUpdate)
	tax := admin.Group("/taxonomy", u.insightGate(auth.WriteTaxonomy, "taxonomy"))
	tax.Get("", u.insightTaxonomy)
	tax.Post("", u.insightTaxonomySave)
	audit := admin.Group("/audit", u.insightGate(auth.ReadAudit, "audit"))
	audit.Get("", u.insightAudit)
	audit.Get("/verify", u.insightAudit)
}

// insightGate refuses (403, audited as the API does) callers whose role
// may not take action before any page work.
func (u *ui) insightGate(a auth.Action, entity string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := u.g.authorize(c, a, auth.Resource{}, auth.Entity{Type: entity}); err != nil {
			return err
		}
		return c.Next()
	}
}

// --- search ---

// insightSearchTypes are the tabs of the search page, in order.
var insightSearchTypes = []struct{ Type, Label string }{
	{"", "All"}, {search.TypeCase, "Cases"}, {search.TypeIncident, "Incidents"}, {search.TypePostmortem, "Postmortems"},
	{search.TypeReview, "QA reviews"}, {search.TypeRisk, "Risks"},
}

// insightSearchFacets are the facets offered as filters, in order.
var insightSearchFacets = []struct{ Name, Label string }{
	{"status", "Status"}, {"severity", "Severity"}, {"policy_area", "Policy area"}, {"root_cause_category", "Root cause category"},
	{"team", "Team"}, {"vendor", "Vendor"},
}

const insightPageSize = 20

type insightTab struct {
	Label, Href string
	Count       int
	Current     bool
}

type insightFacetValue struct {
	Term    string
	Count   int
	Checked bool
}

type insightFacet struct {
	Name, Label string
	Values      []insightFacetValue
}

type insightSnippetLine struct {
	Field string
	HTML  string // passed through insightSnippet by the template
}

type insightHit struct {
	Type, Key, Title, Href string
	Status, Severity       string
	Team, Vendor           string
	Created                string
	Snippets               []insightSnippetLine
}

type insightSearchData struct {
	Q, Type   string
	Ran       bool
	Tabs      []insightTab
	Facets    []insightFacet
	Hits      []insightHit
	Total     uint64
	First     int
	Last      int
	PrevHref  string
	NextHref  string
	TypeLabel string
}

// insightSearch is GET /search: one box, type tabs, facet filters,
// highlighted hits and paging, all from the permission-aware Searcher.
func (u *ui) insightSearch(c *fiber.Ctx) error {
	args := c.Context().QueryArgs()
	d := insightSearchData{Q: strings.TrimSpace(c.Query("q")), Type: c.Query("type")}
	if !slices.ContainsFunc(insightSearchTypes, func(t struct{ Type, Label string }) bool { return t.Type == d.Type }) {
		d.Type = ""
	}
	filters := map[string][]string{}
	for _, f := range insightSearchFacets {
		for _, v := range args.PeekMulti(f.Name) {
			if s := string(v); s != "" && len(s) <= 100 && !slices.Contains(filters[f.Name], s) {
				filters[f.Name] = append(filters[f.Name], s)
			}
		}
	}
	page, _ := strconv.Atoi(c.Query("page"))
	page = max(page, 1)

	// base is the query string of this search, without paging.
	base := url.Values{}
	if d.Q != "" {
		base.Set("q", d.Q)
	}
	for _, f := range insightSearchFacets {
		for _, v := range filters[f.Name] {
			base.Add(f.Name, v)
		}
	}
	href := func(typ string, page int) string {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		if typ != "" {
			v.Set("type", typ)
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		if len(v) == 0 {
			return "/search"
		}
		return "/search?" + v.Encode()
	}

	d.Ran = d.Q != "" || d.Type != "" || len(filters) > 0
	facetNames := []string{"type"}
	for _, f := range insightSearchFacets {
		facetNames = append(facetNames, f.Name)
	}
	var res search.Result
	typeCounts := map[string]int{}
	if d.Ran {
		r := search.Request{Query: d.Q, Filters: filters, Facets: facetNames, Highlight: true,
			From: (page - 1) * insightPageSize, Size: insightPageSize}
		if d.Type != "" {
			r.Types = []string{d.Type}
		}
		var err error
		if res, err = u.d.Search.Search(c.UserContext(), caller(c), r); err != nil {
			return u.formError(c, err, "search", "Search", "search", d)
		}
		counts := res.Facets["type"]
		if d.Type != "" {
			// The tabs count every type the search finds.
			all, err := u.d.Search.Search(c.UserContext(), caller(c), search.Request{Query: d.Q, Filters: filters, Facets: []string{"type"}, Size: 1})
			if err != nil {
				return err
			}
			counts = all.Facets["type"]
		}
		for _, t := range counts {
			typeCounts[t.Term] = t.Count
			typeCounts[""] += t.Count
		}
	}
	for _, t := range insightSearchTypes {
		d.Tabs = append(d.Tabs, insightTab{Label: t.Label, Href: href(t.Type, 1), Count: typeCounts[t.Type], Current: t.Type == d.Type})
		if t.Type == d.Type {
			d.TypeLabel = t.Label
		}
	}
	for _, f := range insightSearchFacets {
		fc := insightFacet{Name: f.Name, Label: f.Label}
		for _, t := range res.Facets[f.Name] {
			fc.Values = append(fc.Values, insightFacetValue{Term: t.Term, Count: t.Count, Checked: slices.Contains(filters[f.Name], t.Term)})
		}
		// A chosen value that matches nothing stays, so it can be unchosen.
		for _, v := range filters[f.Name] {
			if !slices.ContainsFunc(fc.Values, func(x insightFacetValue) bool { return x.Term == v }) {
				fc.Values = append(fc.Values, insightFacetValue{Term: v, Checked: true})
			}
		}
		if len(fc.Values) > 0 {
			d.Facets = append(d.Facets, fc)
		}
	}
	d.Total = res.Total
	for _, h := range res.Hits {
		d.Hits = append(d.Hits, insightHitOf(h))
	}
	if len(d.Hits) > 0 {
		d.First = (page-1)*insightPageSize + 1
		d.Last = d.First + len(d.Hits) - 1
	}
	if page > 1 {
		d.PrevHref = href(d.Type, page-1)
	}
	if uint64(page*insightPageSize) < res.Total && page*insightPageSize <= search.MaxFrom {
		d.NextHref = href(d.Type, page+1)
	}
	return u.page(c, "search", "Search", "search", d)
}

// insightHitHref is where a hit's own page is.
func insightHitHref(typ, key string) string {
	k := url.PathEscape(key)
	switch typ {
	case search.TypeCase:
		return "/cases/" + k
	case search.TypeIncident:
		return "/incidents/" + k
	case search.TypePostmortem:
		return "/postmortems/" + k
	case search.TypeRisk:
		return "/risks/" + k
	case search.TypeReview:
		return "/qa"
	}
	return ""
}

// insightFieldLabels name the highlighted fields.
var insightFieldLabels = map[string]string{"title": "Title", "summary": "Summary", "body": "Details", "notes": "Notes",
	"evidence": "Evidence", "root_causes": "Root causes"}

func insightHitOf(h search.Hit) insightHit {
	row := search.Row(h.Fields)
	out := insightHit{Type: h.Type, Key: h.Key, Title: h.Title, Href: insightHitHref(h.Type, h.Key),
		Status: row.String("status"), Severity: row.String("severity"), Team: row.String("team"), Vendor: row.String("vendor"),
		Created: fmtTime(row.String("created_at"), "2006-01-02")}
	if out.Title == "" {
		out.Title = h.Key
	}
	for _, field := range []string{"title", "summary", "body", "notes", "evidence", "root_causes"} {
		for i, f := range h.Highlights[field] {
			if i == 2 {
				break
			}
			out.Snippets = append(out.Snippets, insightSnippetLine{Field: insightFieldLabels[field], HTML: f})
		}
	}
	return out
}

// insightSnippet makes a highlighted fragment safe to insert as HTML
// whatever it holds: the only markup kept is <mark> and </mark> (in
// pairs); everything between is unescaped once and escaped again, so text
// the index escaped shows as written and anything it did not escape is
// escaped here.
func insightSnippet(frag string) template.HTML {
	var b strings.Builder
	rest, open := frag, false
	for {
		tag := "<mark>"
		if open {
			tag = "</mark>"
		}
		i := strings.Index(rest, tag)
		if i < 0 {
			b.WriteString(template.HTMLEscapeString(html.UnescapeString(rest)))
			break
		}
		b.WriteString(template.HTMLEscapeString(html.UnescapeString(rest[:i])))
		b.WriteString(tag)
		rest, open = rest[i+len(tag):], !open
	}
	if open {
		b.WriteString("</mark>")
	}
	return template.HTML(b.String()) // #nosec: built from escaped text and <mark> only
}

// --- dashboard ---

// insightTable is a chart's numbers as a table.
type insightTable struct {
	Caption string
	// Head are the column headers; the first heads the row headers.
	Head []string
	Rows []insightRow
}

type insightRow struct {
	Head  string
	Cells []string
}

// insightChart is one chart of the dashboard with its table.
type insightChart struct {
	ID, Title string
	Note      string
	SVG       template.HTML
	Table     insightTable
}

type insightDashboardData struct {
	From, To string
	Charts   []insightChart
	// Totals of the root-cause report.
	Incidents, OpenItems, OverdueItems int
}

func insightPercent(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }

// insightDates reads the dashboard's period: from and to are dates, to
// inclusive.
func insightDates(c *fiber.Ctx, f *errs.Fields) (from, to time.Time) {
	parse := func(name string) time.Time {
		s := c.Query(name)
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			f.Add(name, "must be a date such as 2026-01-31")
		}
		return t
	}
	from, to = parse("from"), parse("to")
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		f.Add("to", "must not be before from")
	}
	return from, to
}

// insightDashboard is GET /dashboard: the reports as SVG charts, each
// with its numbers in a table.
func (u *ui) insightDashboard(c *fiber.Ctx) error {
	ctx, who := c.UserContext(), caller(c)
	d := insightDashboardData{From: c.Query("from"), To: c.Query("to")}
	var f errs.Fields
	from, to := insightDates(c, &f)
	if err := f.Err(); err != nil {
		return u.formError(c, err, "dashboard", "Dashboard", "dashboard", d)
	}

	rep, err := u.d.RCA.RootCauses(ctx, who, from, to, "month")
	if err != nil {
		return err
	}
	d.Incidents, d.OpenItems, d.OverdueItems = rep.Incidents, rep.OpenActionItems, rep.OverdueActionItems
	d.Charts = append(d.Charts, insightRootCauseChart(rep), insightRecurringChart(rep))

	bySeverity, err := u.insightSLABySeverity(c, from, to)
	if err != nil {
		return err
	}
	var teams, vendors []quality.Scorecard
	if u.d.Quality != nil {
		if teams, err = u.d.Quality.Scorecards(ctx, who, quality.ScorecardQuery{By: "team", From: from, To: to}); err != nil {
			return err
		}
		if vendors, err = u.d.Quality.Scorecards(ctx, who, quality.ScorecardQuery{By: "vendor", From: from, To: to}); err != nil {
			return err
		}
	}
	d.Charts = append(d.Charts, bySeverity,
		insightSLAChart("sla-team", "SLA adherence by team", "Team", teams),
		insightSLAChart("sla-vendor", "SLA adherence by vendor", "Vendor", vendors))

	enf, err := u.insightEnforcement(c, from, to)
	if err != nil {
		return err
	}
	d.Charts = append(d.Charts, enf, insightVendorQualityChart(vendors))
	return u.page(c, "dashboard", "Dashboard", "dashboard", d)
}

func insightRootCauseChart(rep rca.RootCauseReport) insightChart {
	ch := svgchart.Chart{Title: "Root causes by category per month", Stacked: true, Whole: true}
	t := insightTable{Caption: "Root causes by category per month", Head: []string{"Month", "Product", "Process", "Policy", "Total"}}
	series := make([]svgchart.Series, len(rca.Categories))
	for i, cat := range rca.Categories {
		series[i].Name = string(cat)
	}
	for _, b := range rep.Buckets {
		month := b.Start.UTC().Format("2006-01")
		ch.Categories = append(ch.Categories, month)
		row := insightRow{Head: month}
		total := 0
		for i, cat := range rca.Categories {
			n := b.Categories[cat]
			series[i].Values = append(series[i].Values, float64(n))
			row.Cells = append(row.Cells, strconv.Itoa(n))
			total += n
		}
		row.Cells = append(row.Cells, strconv.Itoa(total))
		t.Rows = append(t.Rows, row)
	}
	ch.Series = series
	return insightChart{ID: "root-causes", Title: ch.Title, SVG: ch.SVG(), Table: t}
}

func insightRecurringChart(rep rca.RootCauseReport) insightChart {
	ch := svgchart.Chart{Title: "Top recurring root causes", Horizontal: true, Whole: true}
	t := insightTable{Caption: "Top recurring root causes (seen in two incidents or more)", Head: []string{"Root cause", "Incidents", "Root causes", "Incident keys"}}
	s := svgchart.Series{Name: "incidents"}
	for _, r := range rep.TopRecurring {
		name := string(r.Category) + "/" + r.Subcategory
		ch.Categories = append(ch.Categories, name)
		s.Values = append(s.Values, float64(len(r.Incidents)))
		t.Rows = append(t.Rows, insightRow{Head: name, Cells: []string{strconv.Itoa(len(r.Incidents)), strconv.Itoa(r.Count), strings.Join(r.Incidents, ", ")}})
	}
	ch.Series = []svgchart.Series{s}
	return insightChart{ID: "recurring", Title: ch.Title, SVG: ch.SVG(), Table: t}
}

// insightSLARow is one group's SLA numbers.
type insightSLARow struct {
	Group           string
	Cases, Breached int
}

func insightSLAChartOf(id, title, group string, rows []insightSLARow, note string) insightChart {
	ch := svgchart.Chart{Title: title, Horizontal: true, Max: 1, Format: insightPercent}
	t := insightTable{Caption: title, Head: []string{group, "Cases", "Breached", "Adherence"}}
	s := svgchart.Series{Name: "adherence"}
	for _, r := range rows {
		adherence := "–"
		if r.Cases > 0 {
			v := 1 - float64(r.Breached)/float64(r.Cases)
			adherence = insightPercent(v)
			ch.Categories = append(ch.Categories, r.Group)
			s.Values = append(s.Values, v)
		}
		t.Rows = append(t.Rows, insightRow{Head: r.Group, Cells: []string{strconv.Itoa(r.Cases), strconv.Itoa(r.Breached), adherence}})
	}
	ch.Series = []svgchart.Series{s}
	return insightChart{ID: id, Title: title, Note: note, SVG: ch.SVG(), Table: t}
}

func insightSLAChart(id, title, group string, cards []quality.Scorecard) insightChart {
	var rows []insightSLARow
	for _, sc := range cards {
		if sc.Cases > 0 {
			rows = append(rows, insightSLARow{Group: sc.Group, Cases: sc.Cases, Breached: sc.SLABreached})
		}
	}
	return insightSLAChartOf(id, title, group, rows, "Cases created in the period whose SLA is not breached now.")
}

// insightSLABySeverity counts cases per severity and the breached ones
// with a tally over the cases the caller may open (no report service
// groups by severity).
func (u *ui) insightSLABySeverity(c *fiber.Ctx, from, to time.Time) (insightChart, error) {
	t := search.Tally{Types: []string{search.TypeCase}, Ranges: []search.Range{{Field: "created_at", From: from, To: to}},
		Facets: map[string]search.Facet{"sev": {Field: "severity", Size: 10}}}
	all, err := u.d.Search.Tally(c.UserContext(), caller(c), t)
	if err != nil {
		return insightChart{}, err
	}
	t.SLAState, t.Now = "breached", u.d.Now()
	breached, err := u.d.Search.Tally(c.UserContext(), caller(c), t)
	if err != nil {
		return insightChart{}, err
	}
	nb := map[string]int{}
	for _, f := range breached.Facets["sev"] {
		nb[f.Term] = f.Count
	}
	var rows []insightSLARow
	for _, f := range all.Facets["sev"] {
		rows = append(rows, insightSLARow{Group: f.Term, Cases: f.Count, Breached: nb[f.Term]})
	}
	slices.SortFunc(rows, func(a, b insightSLARow) int { return cmp.Compare(a.Group, b.Group) })
	return insightSLAChartOf("sla-severity", "SLA adherence by severity", "Severity", rows,
		"Cases you may open created in the period whose SLA is not breached now."), nil
}

// insightEnforcement counts enforcements applied in the period by action,
// and how many of them were reversed since, from the index's decision
// documents (tagged with their kind, their action and, once reversed,
// "reversed").
func (u *ui) insightEnforcement(c *fiber.Ctx, from, to time.Time) (insightChart, error) {
	byAction := func(tag string) (map[string]int, []string, error) {
		res, err := u.d.Search.Tally(c.UserContext(), caller(c), search.Tally{Types: []string{search.TypeDecision},
			Terms:  map[string][]string{"tag": {tag}},
			Ranges: []search.Range{{Field: "created_at", From: from, To: to}},
			Facets: map[string]search.Facet{"action": {Field: "tag", Size: 20}}})
		if err != nil {
			return nil, nil, err
		}
		counts, order := map[string]int{}, []string{}
		for _, f := range res.Facets["action"] {
			if f.Term == cases.DecisionEnforcement || f.Term == cases.DecisionClosure || f.Term == search.TagReversed || f.Term == "" {
				continue
			}
			counts[f.Term] = f.Count
			order = append(order, f.Term)
		}
		return counts, order, nil
	}
	applied, actions, err := byAction(cases.DecisionEnforcement)
	if err != nil {
		return insightChart{}, err
	}
	reversed, _, err := byAction(search.TagReversed)
	if err != nil {
		return insightChart{}, err
	}
	ch := svgchart.Chart{Title: "Enforcements applied by action, and reversed since", Whole: true, Categories: actions}
	t := insightTable{Caption: ch.Title, Head: []string{"Action", "Applied", "Reversed", "Reversal rate"}}
	sa, sr := svgchart.Series{Name: "applied"}, svgchart.Series{Name: "reversed"}
	for _, a := range actions {
		sa.Values = append(sa.Values, float64(applied[a]))
		sr.Values = append(sr.Values, float64(reversed[a]))
		t.Rows = append(t.Rows, insightRow{Head: a, Cells: []string{strconv.Itoa(applied[a]), strconv.Itoa(reversed[a]),
			insightPercent(float64(reversed[a]) / float64(applied[a]))}})
	}
	ch.Series = []svgchart.Series{sa, sr}
	return insightChart{ID: "enforcement", Title: ch.Title, SVG: ch.SVG(), Table: t}, nil
}

func insightVendorQualityChart(cards []quality.Scorecard) insightChart {
	ch := svgchart.Chart{Title: "Vendor quality: QA agreement rate", Horizontal: true, Max: 1, Format: insightPercent}
	t := insightTable{Caption: "Vendor quality: QA agreement rate", Head: []string{"Vendor", "Decisions", "Reviewed", "Agreed", "Agreement", "95% interval"}}
	s := svgchart.Series{Name: "agreement"}
	for _, sc := range cards {
		rate, interval := "–", "–"
		if sc.Agreement != nil {
			rate = insightPercent(sc.Agreement.Rate)
			interval = insightPercent(sc.Agreement.Low) + " – " + insightPercent(sc.Agreement.High)
			ch.Categories = append(ch.Categories, sc.Group)
			s.Values = append(s.Values, sc.Agreement.Rate)
		}
		t.Rows = append(t.Rows, insightRow{Head: sc.Group, Cells: []string{strconv.Itoa(sc.Decisions), strconv.Itoa(sc.Reviewed),
			strconv.Itoa(sc.Agreed), rate, interval}})
	}
	ch.Series = []svgchart.Series{s}
	return insightChart{ID: "vendor-quality", Title: ch.Title, SVG: ch.SVG(), Table: t,
		Note: "Reviewed decisions QA agreed with; the interval is Wilson's at 95%."}
}

// --- admin ---

func (u *ui) insightAdmin(c *fiber.Ctx) error {
	return u.page(c, "admin", "Admin", "admin", nil)
}

type insightUsersData struct {
	Users []auth.User
	Total int64
	Next  string
}

func (u *ui) insightUsers(c *fiber.Ctx) error {
	after := c.Query("after")
	if len(after) > 100 {
		after = ""
	}
	users, next, total, err := u.d.Users.ListUsers(c.UserContext(), caller(c), 50, after, u.g.meta(c))
	if err != nil {
		return err
	}
	d := insightUsersData{Users: users, Total: total}
	if next != "" {
		d.Next = "/admin/users?after=" + url.QueryEscape(next)
	}
	return u.page(c, "admin_users", "Users", "admin", d)
}

// insightUserForm is the user form's data.
type insightUserForm struct {
	New                         bool
	Username, DisplayName, Role string
	Team, Vendor                string
	Disabled                    bool
	Version                     int64
	Roles                       []string
	CreatedAt, UpdatedAt        time.Time
}

func insightRoles() []string {
	out := make([]string, len(auth.Roles))
	for i, r := range auth.Roles {
		out[i] = string(r)
	}
	return out
}

func insightUserFormOf(x auth.User) insightUserForm {
	return insightUserForm{Username: x.Username, DisplayName: x.DisplayName, Role: string(x.Role), Team: x.Team, Vendor: x.Vendor,
		Disabled: x.Disabled, Version: x.Version, Roles: insightRoles(), CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
}

// insightUserPosted is the user form as posted.
func insightUserPosted(c *fiber.Ctx) insightUserForm {
	v, _ := strconv.ParseInt(c.FormValue("version"), 10, 64)
	return insightUserForm{Username: strings.TrimSpace(c.FormValue("username")), DisplayName: c.FormValue("display_name"),
		Role: c.FormValue("role"), Team: strings.TrimSpace(c.FormValue("team")), Vendor: strings.TrimSpace(c.FormValue("vendor")),
		Disabled: c.FormValue("disabled") != "", Version: v, Roles: insightRoles()}
}

func (u *ui) insightUserNew(c *fiber.Ctx) error {
	return u.page(c, "admin_user", "New user", "admin", insightUserForm{New: true, Role: string(auth.RoleInvestigator), Roles: insightRoles()})
}

func (u *ui) insightUserCreate(c *fiber.Ctx) error {
	f := insightUserPosted(c)
	f.New = true
	created, err := u.d.Users.CreateUser(c.UserContext(), caller(c), auth.NewUser{Username: f.Username, DisplayName: f.DisplayName,
		Role: auth.Role(f.Role), Team: f.Team, Vendor: f.Vendor, Password: c.FormValue("password")}, u.g.meta(c))
	if err != nil {
		return u.formError(c, err, "admin_user", "New user", "admin", f)
	}
	return u.redirect(c, "/admin/users/"+url.PathEscape(created.Username), "User "+created.Username+" created.")
}

func (u *ui) insightUserEdit(c *fiber.Ctx) error {
	x, err := u.d.Users.GetUser(c.UserContext(), caller(c), c.Params("username"), u.g.meta(c))
	if err != nil {
		return err
	}
	return u.page(c, "admin_user", "User "+x.Username, "admin", insightUserFormOf(x))
}

func (u *ui) insightUserUpdate(c *fiber.Ctx) error {
	name := c.Params("username")
	f := insightUserPosted(c)
	f.Username = name
	role := auth.Role(f.Role)
	p := auth.UserPatch{DisplayName: &f.DisplayName, Role: &role, Team: &f.Team, Vendor: &f.Vendor, Disabled: &f.Disabled}
	if pw := c.FormValue("password"); pw != "" {
		p.Password = &pw
	}
	x, err := u.d.Users.UpdateUser(c.UserContext(), caller(c), name, f.Version, p, u.g.meta(c))
	if err != nil {
		return u.formError(c, err, "admin_user", "User "+name, "admin", f)
	}
	return u.redirect(c, "/admin/users/"+url.PathEscape(x.Username), "User "+x.Username+" saved.")
}

type insightTaxonomyData struct {
	JSON    string
	Version int64
}

func (u *ui) insightTaxonomy(c *fiber.Ctx) error {
	t, v, err := u.d.Cases.Taxonomy(c.UserContext())
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return u.page(c, "admin_taxonomy", "Taxonomy", "admin", insightTaxonomyData{JSON: string(b), Version: v})
}

func (u *ui) insightTaxonomySave(c *fiber.Ctx) error {
	d := insightTaxonomyData{JSON: c.FormValue("taxonomy")}
	d.Version, _ = strconv.ParseInt(c.FormValue("version"), 10, 64)
	var t cases.Taxonomy
	dec := json.NewDecoder(strings.NewReader(d.JSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil || dec.More() {
		msg := "is not a taxonomy document"
		if err != nil {
			msg = "is not valid: " + err.Error()
		}
		return u.formError(c, &errs.Error{Code: errs.Invalid, Message: "The taxonomy is not valid JSON.",
			Fields: []errs.FieldError{{Field: "taxonomy", Message: msg}}}, "admin_taxonomy", "Taxonomy", "admin", d)
	}
	_, v, err := u.d.Cases.SetTaxonomy(c.UserContext(), caller(c), t, d.Version, u.g.meta(c))
	if err != nil {
		return u.formError(c, err, "admin_taxonomy", "Taxonomy", "admin", d)
	}
	return u.redirect(c, "/admin/taxonomy", fmt.Sprintf("Taxonomy saved (version %d).", v))
}

type insightAuditData struct {
	User, EntityType, EntityID, Action, From, To string
	Events                                       []auth.AuditEvent
	Total                                        int64
	Next                                         string
	Verified                                     bool
	Verify                                       auth.VerifyResult
}

// insightAudit is GET /admin/audit (filters) and /admin/audit/verify (the
// same page with the chain verified).
func (u *ui) insightAudit(c *fiber.Ctx) error {
	d := insightAuditData{User: c.Query("user"), EntityType: c.Query("entity_type"), EntityID: c.Query("entity_id"),
		Action: c.Query("action"), From: c.Query("from"), To: c.Query("to")}
	var f errs.Fields
	for name, v := range map[string]string{"user": d.User, "entity_type": d.EntityType, "entity_id": d.EntityID, "action": d.Action} {
		if len(v) > 200 {
			f.Add(name, "must be at most 200 characters")
		}
	}
	from, to := insightDates(c, &f)
	cursor := c.Query("cursor")
	if len(cursor) > 200 {
		f.Add("cursor", "is not a cursor this server issued")
	}
	if err := f.Err(); err != nil {
		return u.formError(c, err, "admin_audit", "Audit log", "admin", d)
	}
	if strings.HasSuffix(c.Path(), "/verify") {
		res, err := u.d.Audit.Verify(c.UserContext())
		if err != nil {
			return err
		}
		d.Verified, d.Verify = true, res
	}
	items, next, total, err := u.d.Audit.List(c.UserContext(), auth.AuditFilter{User: d.User, EntityType: d.EntityType,
		EntityID: d.EntityID, Action: d.Action, From: from, To: to}, 50, cursor)
	if err != nil {
		return u.formError(c, err, "admin_audit", "Audit log", "admin", d)
	}
	d.Events, d.Total = items, total
	if next != "" {
		q := url.Values{}
		for k, v := range map[string]string{"user": d.User, "entity_type": d.EntityType, "entity_id": d.EntityID, "action": d.Action, "from": d.From, "to": d.To} {
			if v != "" {
				q.Set(k, v)
			}
		}
		q.Set("cursor", next)
		d.Next = "/admin/audit?" + q.Encode()
	}
	return u.page(c, "admin_audit", "Audit log", "admin", d)
}
