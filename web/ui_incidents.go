package web

// Incident, RCA and postmortem pages: the incident list and form, the
// incident page with its RCA editor and action items, the postmortem
// editor with its review steps, and the reading view of published
// postmortems (for leadership, printable).

import (
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/search"
)

// incMarkdown is the postmortem renderer: rca's, which sanitises its output
// with bluemonday. It holds no state that changes after it is built.
var incMarkdown = sync.OnceValue(rca.NewMarkdown)

// uiIncidentsFuncs are this page group's template functions.
var uiIncidentsFuncs = template.FuncMap{
	"incSeverities":   func() []rca.Severity { return rca.Severities },
	"incStatuses":     func() []rca.Status { return []rca.Status{rca.Investigating, rca.Mitigated, rca.Resolved} },
	"incCategories":   func() []rca.Category { return rca.Categories },
	"incItemStatuses": func() []rca.ActionItemStatus { return incItemStatuses },
	"incItemKinds":    func() []string { return incItemKinds },
	// incMarkdown renders Markdown through rca's sanitiser: the only
	// source of template.HTML on these pages.
	"incMarkdown": func(src string) template.HTML { return template.HTML(incMarkdown().Render(src)) },
	// incText prints a list row's value (index rows hold strings, numbers
	// and lists).
	"incText": func(v any) string {
		switch x := v.(type) {
		case nil:
			return ""
		case string:
			return x
		case []any:
			parts := make([]string, 0, len(x))
			for _, p := range x {
				parts = append(parts, fmt.Sprint(p))
			}
			return strings.Join(parts, ", ")
		case []string:
			return strings.Join(x, ", ")
		}
		return fmt.Sprint(v)
	},
	"incDateInput": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"incIsIndex": func(p *int, i int) bool { return p != nil && *p == i },
	"incDuration": func(s *rca.Seconds) string {
		if s == nil {
			return ""
		}
		return (time.Duration(*s) * time.Second).String()
	},
	"incPlusOne": func(i int) int { return i + 1 },
}

var (
	incItemStatuses = []rca.ActionItemStatus{rca.ItemOpen, rca.ItemInProgress, rca.ItemDone, rca.ItemWontDo}
	incItemKinds    = []string{"prevent", "detect", "mitigate", "process", "policy"}
)

// routesIncidents mounts this group's pages.
func (u *ui) routesIncidents(r fiber.Router) {
	r.Get("/incidents", u.incEditors, u.incidentList)
	r.Get("/incidents/new", u.incEditors, u.incidentNew)
	r.Post("/incidents/new", u.incEditors, u.incidentCreate)
	r.Get("/incidents/:key", u.incEditors, u.incidentPage)
	r.Post("/incidents/:key/status", u.incEditors, u.incidentStatus)
	r.Post("/incidents/:key/rca", u.incEditors, u.rcaPost)
	r.Post("/incidents/:key/items", u.incEditors, u.itemAdd)
	r.Post("/incidents/:key/items/:n", u.incEditors, u.itemUpdate)
	r.Get("/incidents/:key/postmortem", u.incEditors, u.postmortemEditor)
	r.Post("/incidents/:key/postmortem", u.incEditors, u.postmortemPost)
	r.Post("/incidents/:key/postmortem/comments", u.incEditors, u.postmortemComment)
	r.Post("/incidents/:key/postmortem/:step", u.incEditors, u.postmortemStep)
	r.Get("/postmortems", u.postmortemList)
	r.Get("/postmortems/:key", u.postmortemRead)
}

// incEditors admits those who work on incidents: leadership reads
// published postmortems, and vendor agents work on cases only.
func (u *ui) incEditors(c *fiber.Ctx) error {
	if !auth.Can(caller(c), auth.EditIncident, auth.Resource{}) {
		return errs.E(errs.Forbidden, "your role may not work on incidents")
	}
	return c.Next()
}

func incPath(key string, rest ...string) string {
	return "/incidents/" + url.PathEscape(key) + strings.Join(rest, "")
}

// incPrefixed renames the field errors of err with prefix, so that two
// forms of one page keep their errors apart.
func incPrefixed(err error, prefix string) error {
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	cp := *e
	cp.Fields = make([]errs.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		cp.Fields[i] = errs.FieldError{Field: prefix + f.Field, Message: f.Message}
	}
	return &cp
}

// incVersion reads the hidden version of a form: the If-Match of its save.
func incVersion(c *fiber.Ctx) (int64, error) {
	v, err := strconv.ParseInt(c.FormValue("version"), 10, 64)
	if err != nil || v < 1 {
		return 0, errs.E(errs.PreconditionNeeded, "the form lacks the version it was read at; reload the page and try again")
	}
	return v, nil
}

// incTime reads a datetime-local (or date) field as UTC; empty is nil.
func incTime(c *fiber.Ctx, name string, f *errs.Fields) *time.Time {
	s := strings.TrimSpace(c.FormValue(name))
	if s == "" {
		return nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339, "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			t = t.UTC()
			return &t
		}
	}
	f.Add(name, "must be a date and time such as 2026-03-01T14:30")
	return nil
}

func incLines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func incList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// --- list ---

type incListData struct {
	Q, Status, Severity, Category string
	Rows                          []row
	Total                         uint64
	Next                          string
}

func (u *ui) incidentList(c *fiber.Ctx) error {
	data := incListData{Q: c.Query("q"), Status: c.Query("status"), Severity: c.Query("severity"), Category: c.Query("root_cause_category")}
	var f errs.Fields
	limit, offset := listPage(c, &f)
	r := search.Request{Query: data.Q, Types: []string{search.TypeIncident}, Filters: map[string][]string{},
		Sort: "-created_at", From: offset, Size: limit}
	r.Filters["status"] = filterValues(c, "status", func(v string) bool {
		return slices.Contains([]rca.Status{rca.Investigating, rca.Mitigated, rca.Resolved}, rca.Status(v))
	}, &f)
	r.Filters["severity"] = filterValues(c, "severity", func(v string) bool { return rca.Severity(v).Valid() }, &f)
	r.Filters["root_cause_category"] = filterValues(c, "root_cause_category", func(v string) bool { return rca.Category(v).Valid() }, &f)
	if len(data.Q) > 200 {
		f.Add("q", "must be at most 200 characters")
	}
	if err := f.Err(); err != nil {
		return u.formError(c, err, "incidents", "Incidents", "incidents", data)
	}
	res, err := u.d.Search.Search(c.UserContext(), caller(c), r)
	if err != nil {
		return u.formError(c, err, "incidents", "Incidents", "incidents", data)
	}
	data.Rows, data.Total = rows(res, u.d.Now()), res.Total
	if next := nextOffset(offset, len(res.Hits), int(res.Total)); next != "" {
		q := url.Values{"cursor": {next}}
		for k, v := range map[string]string{"q": data.Q, "status": data.Status, "severity": data.Severity, "root_cause_category": data.Category} {
			if v != "" {
				q.Set(k, v)
			}
		}
		data.Next = "/incidents?" + q.Encode()
	}
	return u.page(c, "incidents", "Incidents", "incidents", data)
}

// --- filing an incident ---

type incidentForm struct {
	Kind, Title, Severity, Status                   string
	StartedAt, DetectedAt, MitigatedAt, ResolvedAt  string
	Detection, ImpactText, AffectedActors, Exposure string
	Regions, Owner, LinkedCases                     string
}

func (u *ui) incidentNew(c *fiber.Ctx) error {
	if !auth.Can(caller(c), auth.CreateIncident, auth.Resource{}) {
		return errs.E(errs.Forbidden, "your role may not file incidents")
	}
	form := incidentForm{Kind: string(rca.KindIncident), Severity: "sev2", Status: string(rca.Investigating), Owner: caller(c).Username}
	return u.page(c, "incident_new", "File an incident", "incidents", form)
}

func (u *ui) incidentCreate(c *fiber.Ctx) error {
	form := incidentForm{Kind: c.FormValue("kind"), Title: c.FormValue("title"), Severity: c.FormValue("severity"), Status: c.FormValue("status"),
		StartedAt: c.FormValue("started_at"), DetectedAt: c.FormValue("detected_at"), MitigatedAt: c.FormValue("mitigated_at"),
		ResolvedAt: c.FormValue("resolved_at"), Detection: c.FormValue("detection"), ImpactText: c.FormValue("impact_text"),
		AffectedActors: c.FormValue("affected_actors"), Exposure: c.FormValue("exposure_count"), Regions: c.FormValue("regions"),
		Owner: c.FormValue("owner"), LinkedCases: c.FormValue("linked_cases")}
	var f errs.Fields
	in := rca.NewIncident{Kind: rca.Kind(form.Kind), Title: form.Title, Severity: rca.Severity(form.Severity), Status: rca.Status(form.Status),
		DetectedAt: incTime(c, "detected_at", &f), MitigatedAt: incTime(c, "mitigated_at", &f), ResolvedAt: incTime(c, "resolved_at", &f),
		Detection: form.Detection, Owner: strings.TrimSpace(form.Owner), LinkedCases: incList(form.LinkedCases),
		Impact: rca.Impact{Text: form.ImpactText, Regions: incList(strings.ToUpper(form.Regions))}}
	if t := incTime(c, "started_at", &f); t != nil {
		in.StartedAt = *t
	}
	count := func(name, v string) int64 {
		if strings.TrimSpace(v) == "" {
			return 0
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			f.Add(name, "must be a whole number")
		}
		return n
	}
	in.Impact.AffectedActors = count("impact.affected_actors", form.AffectedActors)
	in.Impact.ExposureCount = count("impact.exposure_count", form.Exposure)
	err := f.Err()
	var inc rca.Incident
	if err == nil {
		inc, err = u.d.RCA.CreateIncident(c.UserContext(), caller(c), in, u.g.meta(c))
	}
	if err != nil {
		return u.formError(c, err, "incident_new", "File an incident", "incidents", form)
	}
	return u.redirect(c, incPath(inc.Key), "Filed "+inc.Key+".")
}

// --- the incident page and its RCA editor ---

// causeForm is one root cause in the RCA editor.
type causeForm struct {
	Index                              int
	Description, Category, Subcategory string
	Vendor, Whys                       string
	Suggested                          rca.Category
	Confidence                         float64
	// Fresh marks a suggestion made for this form (not the one stored).
	Fresh bool
}

type gapForm struct {
	Index           int
	Mitigation, Why string
}

type rcaForm struct {
	Version          int64
	ProblemStatement string
	Causes           []causeForm
	Factors          string
	Gaps             []gapForm
}

// withBlanks appends the empty rows that add a root cause or a gap.
func (f rcaForm) withBlanks() rcaForm {
	f.Causes = append(slices.Clone(f.Causes), causeForm{Index: len(f.Causes)})
	f.Gaps = append(slices.Clone(f.Gaps), gapForm{Index: len(f.Gaps)})
	return f
}

func rcaFormOf(in rca.Incident) rcaForm {
	f := rcaForm{Version: in.Version, ProblemStatement: in.RCA.ProblemStatement, Factors: strings.Join(in.RCA.ContributingFactors, "\n")}
	for i, rc := range in.RCA.RootCauses {
		f.Causes = append(f.Causes, causeForm{Index: i, Description: rc.Description, Category: string(rc.Category), Subcategory: rc.Subcategory,
			Vendor: rc.Vendor, Whys: strings.Join(rc.FiveWhys, "\n"), Suggested: rc.SuggestedCategory, Confidence: rc.SuggestionConfidence})
	}
	for i, g := range in.RCA.MitigationGaps {
		f.Gaps = append(f.Gaps, gapForm{Index: i, Mitigation: g.Mitigation, Why: g.Why})
	}
	return f
}

// maxFormRows bounds the rows a posted RCA form is read for.
const maxFormRows = 60

// parseRCAForm reads the editor's form, dropping removed and blank rows
// (so that the service's field errors name the rows shown again).
func parseRCAForm(c *fiber.Ctx) rcaForm {
	f := rcaForm{ProblemStatement: c.FormValue("problem_statement"), Factors: c.FormValue("contributing_factors")}
	f.Version, _ = strconv.ParseInt(c.FormValue("version"), 10, 64)
	rowsOf := func(name string) int {
		n, _ := strconv.Atoi(c.FormValue(name))
		return min(max(n, 0), maxFormRows)
	}
	for i := range rowsOf("causes") {
		p := fmt.Sprintf("rc.%d.", i)
		cf := causeForm{Description: c.FormValue(p + "description"), Category: c.FormValue(p + "category"), Subcategory: c.FormValue(p + "subcategory"),
			Vendor: strings.TrimSpace(c.FormValue(p + "vendor")), Whys: c.FormValue(p + "whys")}
		if c.FormValue(p+"remove") != "" || strings.TrimSpace(cf.Description) == "" && cf.Category == "" && cf.Subcategory == "" && strings.TrimSpace(cf.Whys) == "" {
			continue
		}
		cf.Index = len(f.Causes)
		f.Causes = append(f.Causes, cf)
	}
	for i := range rowsOf("gaps") {
		p := fmt.Sprintf("gap.%d.", i)
		g := gapForm{Mitigation: c.FormValue(p + "mitigation"), Why: c.FormValue(p + "why")}
		if c.FormValue(p+"remove") != "" || strings.TrimSpace(g.Mitigation) == "" && strings.TrimSpace(g.Why) == "" {
			continue
		}
		g.Index = len(f.Gaps)
		f.Gaps = append(f.Gaps, g)
	}
	return f
}

func (f rcaForm) toRCA() rca.RCA {
	r := rca.RCA{ProblemStatement: f.ProblemStatement, ContributingFactors: incLines(f.Factors)}
	for _, cf := range f.Causes {
		r.RootCauses = append(r.RootCauses, rca.RootCause{Description: cf.Description, Category: rca.Category(cf.Category),
			Subcategory: cf.Subcategory, Vendor: cf.Vendor, FiveWhys: incLines(cf.Whys)})
	}
	for _, g := range f.Gaps {
		r.MitigationGaps = append(r.MitigationGaps, rca.MitigationGap{Mitigation: g.Mitigation, Why: g.Why})
	}
	return r
}

// itemForm is the form that adds an action item.
type itemForm struct {
	Title, Owner, Due, Kind, RootCause string
}

type incidentPageData struct {
	Incident      rca.Incident
	RCA           rcaForm
	Subcategories map[string][]string
	NewItem       itemForm
	Similar       []search.Hit
	// SimilarUnavailable is set when the index could not answer.
	SimilarUnavailable bool
}

func (u *ui) incidentData(c *fiber.Ctx, in rca.Incident) (incidentPageData, error) {
	d := incidentPageData{Incident: in, RCA: rcaFormOf(in).withBlanks(), NewItem: itemForm{Owner: caller(c).Username, Kind: "prevent"}}
	if u.d.Cases != nil {
		t, _, err := u.d.Cases.Taxonomy(c.UserContext())
		if err != nil {
			return d, err
		}
		d.Subcategories = t.Subcategories
	}
	if u.d.Search != nil {
		res, err := u.d.Search.Similar(c.UserContext(), caller(c), search.TypeIncident, in.ID, 5)
		if err != nil {
			d.SimilarUnavailable = true
		} else {
			d.Similar = res.Hits
		}
	}
	return d, nil
}

func incTitle(in rca.Incident) string { return in.Key + ": " + in.Title }

func (u *ui) incidentPage(c *fiber.Ctx) error {
	in, err := u.d.RCA.GetIncident(c.UserContext(), caller(c), c.Params("key"))
	if err != nil {
		return err
	}
	d, err := u.incidentData(c, in)
	if err != nil {
		return err
	}
	return u.page(c, "incident", incTitle(in), "incidents", d)
}

// incidentStatus moves an incident on (status, severity and the times
// that go with them) at the version the page was read at.
func (u *ui) incidentStatus(c *fiber.Ctx) error {
	ctx, user := c.UserContext(), caller(c)
	in, err := u.d.RCA.GetIncident(ctx, user, c.Params("key"))
	if err != nil {
		return err
	}
	var f errs.Fields
	p := rca.IncidentPatch{MitigatedAt: incTime(c, "mitigated_at", &f), ResolvedAt: incTime(c, "resolved_at", &f)}
	if s := c.FormValue("status"); s != "" {
		st := rca.Status(s)
		p.Status = &st
	}
	if s := c.FormValue("severity"); s != "" {
		sev := rca.Severity(s)
		p.Severity = &sev
	}
	version, err := incVersion(c)
	if err == nil {
		err = f.Err()
	}
	if err == nil {
		_, err = u.d.RCA.UpdateIncident(ctx, user, in.Key, version, p, u.g.meta(c))
	}
	if err != nil {
		d, derr := u.incidentData(c, in)
		if derr != nil {
			return derr
		}
		return u.formError(c, incPrefixed(err, "inc."), "incident", incTitle(in), "incidents", d)
	}
	return u.redirect(c, incPath(in.Key), "The incident is updated.")
}

// rcaPost saves the RCA, or (action "suggest") shows the classifier's
// suggestion for every root cause without saving: the human then picks.
func (u *ui) rcaPost(c *fiber.Ctx) error {
	ctx, user := c.UserContext(), caller(c)
	in, err := u.d.RCA.GetIncident(ctx, user, c.Params("key"))
	if err != nil {
		return err
	}
	d, err := u.incidentData(c, in)
	if err != nil {
		return err
	}
	form := parseRCAForm(c)
	if c.FormValue("action") == "suggest" {
		for i, cf := range form.Causes {
			if strings.TrimSpace(cf.Description) == "" {
				continue
			}
			s, err := u.d.RCA.Classify(ctx, user, cf.Description)
			if err != nil {
				continue // too long or empty: the save reports it
			}
			form.Causes[i].Suggested, form.Causes[i].Confidence, form.Causes[i].Fresh = s.Category, s.Confidence, true
		}
		d.RCA = form.withBlanks()
		return u.page(c, "incident", incTitle(in), "incidents", d)
	}
	d.RCA = form.withBlanks()
	version, err := incVersion(c)
	if err == nil {
		_, err = u.d.RCA.PutRCA(ctx, user, in.Key, version, form.toRCA(), u.g.meta(c))
	}
	if err != nil {
		return u.formError(c, err, "incident", incTitle(in), "incidents", d)
	}
	return u.redirect(c, incPath(in.Key)+"#rca", "The RCA is saved.")
}

func (u *ui) itemAdd(c *fiber.Ctx) error {
	ctx, user := c.UserContext(), caller(c)
	in, err := u.d.RCA.GetIncident(ctx, user, c.Params("key"))
	if err != nil {
		return err
	}
	form := itemForm{Title: c.FormValue("title"), Owner: strings.TrimSpace(c.FormValue("owner")), Due: c.FormValue("due"),
		Kind: c.FormValue("kind"), RootCause: c.FormValue("root_cause")}
	var f errs.Fields
	ni := rca.NewActionItem{Title: form.Title, Owner: form.Owner, Kind: form.Kind, Due: incTime(c, "due", &f)}
	if form.RootCause != "" {
		n, err := strconv.Atoi(form.RootCause)
		if err != nil {
			f.Add("root_cause", "is not a root cause")
		}
		ni.RootCause = &n
	}
	err = f.Err()
	if err == nil {
		_, err = u.d.RCA.AddActionItem(ctx, user, in.Key, ni, u.g.meta(c))
	}
	if err != nil {
		d, derr := u.incidentData(c, in)
		if derr != nil {
			return derr
		}
		d.NewItem = form
		return u.formError(c, incPrefixed(err, "item."), "incident", incTitle(in), "incidents", d)
	}
	return u.redirect(c, incPath(in.Key)+"#items", "Action item added.")
}

func (u *ui) itemUpdate(c *fiber.Ctx) error {
	ctx, user := c.UserContext(), caller(c)
	in, err := u.d.RCA.GetIncident(ctx, user, c.Params("key"))
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Params("n"))
	if err != nil || n < 1 {
		return errs.E(errs.NotFound, "no such action item")
	}
	var f errs.Fields
	p := rca.ActionItemPatch{Due: incTime(c, "due", &f)}
	if s := c.FormValue("status"); s != "" {
		st := rca.ActionItemStatus(s)
		p.Status = &st
	}
	if o := strings.TrimSpace(c.FormValue("owner")); o != "" {
		p.Owner = &o
	}
	version, err := incVersion(c)
	if err == nil {
		err = f.Err()
	}
	if err == nil {
		_, err = u.d.RCA.UpdateActionItem(ctx, user, in.Key, n, version, p, u.g.meta(c))
	}
	if err != nil {
		d, derr := u.incidentData(c, in)
		if derr != nil {
			return derr
		}
		return u.formError(c, incPrefixed(err, fmt.Sprintf("item%d.", n)), "incident", incTitle(in), "incidents", d)
	}
	return u.redirect(c, incPath(in.Key)+"#items", fmt.Sprintf("Action item %d updated.", n))
}

// --- the postmortem editor ---

type timelineRow struct {
	Index     int
	At, Event string
}

type pmForm struct {
	Version                                      int64
	Summary, Impact, Detection, Response         string
	WhatWentWell, WhatWentWrong, WhereWeGotLucky string
	Lessons, Body                                string
	Timeline                                     []timelineRow
}

// pmField is one prose field of the postmortem, for the form and previews.
type pmField struct{ Name, Label, Value string }

// Fields lists the prose fields in reading order.
func (f pmForm) Fields() []pmField {
	return []pmField{{"summary", "Summary", f.Summary}, {"impact", "Impact", f.Impact}, {"detection", "Detection", f.Detection},
		{"response", "Response", f.Response}, {"what_went_well", "What went well", f.WhatWentWell},
		{"what_went_wrong", "What went wrong", f.WhatWentWrong}, {"where_we_got_lucky", "Where we got lucky", f.WhereWeGotLucky},
		{"lessons", "Lessons", f.Lessons}, {"body", "Details", f.Body}}
}

func pmFormOf(p rca.Postmortem) pmForm {
	c := p.Content
	f := pmForm{Version: p.Version, Summary: c.Summary, Impact: c.Impact, Detection: c.Detection, Response: c.Response,
		WhatWentWell: c.WhatWentWell, WhatWentWrong: c.WhatWentWrong, WhereWeGotLucky: c.WhereWeGotLucky, Lessons: c.Lessons, Body: c.Body}
	for i, t := range c.Timeline {
		f.Timeline = append(f.Timeline, timelineRow{Index: i, At: t.At.UTC().Format("2006-01-02T15:04"), Event: t.Event})
	}
	return f
}

func (f pmForm) withBlank() pmForm {
	f.Timeline = append(slices.Clone(f.Timeline), timelineRow{Index: len(f.Timeline)})
	return f
}

func parsePMForm(c *fiber.Ctx) (pmForm, rca.Content, error) {
	f := pmForm{Summary: c.FormValue("summary"), Impact: c.FormValue("impact"), Detection: c.FormValue("detection"),
		Response: c.FormValue("response"), WhatWentWell: c.FormValue("what_went_well"), WhatWentWrong: c.FormValue("what_went_wrong"),
		WhereWeGotLucky: c.FormValue("where_we_got_lucky"), Lessons: c.FormValue("lessons"), Body: c.FormValue("body")}
	f.Version, _ = strconv.ParseInt(c.FormValue("version"), 10, 64)
	content := rca.Content{Summary: f.Summary, Impact: f.Impact, Detection: f.Detection, Response: f.Response, WhatWentWell: f.WhatWentWell,
		WhatWentWrong: f.WhatWentWrong, WhereWeGotLucky: f.WhereWeGotLucky, Lessons: f.Lessons, Body: f.Body, Timeline: []rca.TimelineItem{}}
	var fe errs.Fields
	n, _ := strconv.Atoi(c.FormValue("timeline_rows"))
	for i := range min(max(n, 0), 501) {
		p := fmt.Sprintf("tl.%d.", i)
		row := timelineRow{At: strings.TrimSpace(c.FormValue(p + "at")), Event: c.FormValue(p + "event")}
		if c.FormValue(p+"remove") != "" || row.At == "" && strings.TrimSpace(row.Event) == "" {
			continue
		}
		row.Index = len(f.Timeline)
		f.Timeline = append(f.Timeline, row)
		item := rca.TimelineItem{Event: row.Event}
		var rf errs.Fields
		if t := incTime(c, p+"at", &rf); t != nil {
			item.At = *t
		}
		if len(rf) > 0 {
			fe.Add(fmt.Sprintf("timeline[%d].at", row.Index), "must be a date and time such as 2026-03-01T14:30")
		}
		content.Timeline = append(content.Timeline, item)
	}
	err := fe.Err()
	return f, content, err
}

type pmPageData struct {
	Incident rca.Incident
	// PM is nil until the first draft is saved.
	PM       *rca.Postmortem
	Form     pmForm
	Preview  bool
	Findings []errs.FieldError
	Comment  string
	// Steps the caller may take now.
	CanSubmit, CanApprove, CanPublish bool
}

func (u *ui) pmData(c *fiber.Ctx) (pmPageData, error) {
	ctx, user := c.UserContext(), caller(c)
	in, err := u.d.RCA.GetIncident(ctx, user, c.Params("key"))
	if err != nil {
		return pmPageData{}, err
	}
	d := pmPageData{Incident: in}
	p, err := u.d.RCA.GetPostmortem(ctx, user, in.Key)
	switch {
	case errs.Is(err, errs.NotFound):
		d.Form = pmForm{}.withBlank()
	case err != nil:
		return pmPageData{}, err
	default:
		d.PM = &p
		d.Form = pmFormOf(p).withBlank()
		d.CanSubmit = p.Status == rca.Draft
		d.CanApprove = p.Status == rca.InReview && auth.Can(user, auth.ApprovePostmortem, auth.Resource{}) && !slices.Contains(p.Authors, user.Username)
		d.CanPublish = p.Status == rca.Approved && auth.Can(user, auth.PublishPostmortem, auth.Resource{})
	}
	return d, nil
}

func pmTitle(in rca.Incident) string { return "Postmortem of " + in.Key }

func (u *ui) postmortemEditor(c *fiber.Ctx) error {
	d, err := u.pmData(c)
	if err != nil {
		return err
	}
	return u.page(c, "postmortem_edit", pmTitle(d.Incident), "incidents", d)
}

// postmortemPost saves the content, or (action "preview") renders it.
func (u *ui) postmortemPost(c *fiber.Ctx) error {
	d, err := u.pmData(c)
	if err != nil {
		return err
	}
	form, content, perr := parsePMForm(c)
	d.Form = form.withBlank()
	if c.FormValue("action") == "preview" {
		d.Preview = true
		return u.page(c, "postmortem_edit", pmTitle(d.Incident), "incidents", d)
	}
	err = perr
	if err == nil {
		if form.Version == 0 && d.PM != nil {
			err = errs.E(errs.PreconditionFailed, "someone else started this postmortem meanwhile")
		} else {
			_, _, err = u.d.RCA.PutPostmortem(c.UserContext(), caller(c), d.Incident.Key, form.Version, content, u.g.meta(c))
		}
	}
	if err != nil {
		return u.formError(c, err, "postmortem_edit", pmTitle(d.Incident), "incidents", d)
	}
	return u.redirect(c, incPath(d.Incident.Key, "/postmortem"), "The postmortem is saved.")
}

func (u *ui) postmortemComment(c *fiber.Ctx) error {
	d, err := u.pmData(c)
	if err != nil {
		return err
	}
	text := c.FormValue("text")
	if _, err := u.d.RCA.Comment(c.UserContext(), caller(c), d.Incident.Key, text, u.g.meta(c)); err != nil {
		d.Comment = text
		return u.formError(c, incPrefixed(err, "comment."), "postmortem_edit", pmTitle(d.Incident), "incidents", d)
	}
	return u.redirect(c, incPath(d.Incident.Key, "/postmortem#comments"), "Comment added.")
}

var pmStepDone = map[rca.PostmortemStep]string{
	rca.Submit:  "Submitted for review.",
	rca.Approve: "Approved.",
	rca.Publish: "Published.",
}

// postmortemStep submits, approves or publishes. A publish the PII check
// refuses shows its findings.
func (u *ui) postmortemStep(c *fiber.Ctx) error {
	step := rca.PostmortemStep(c.Params("step"))
	if _, ok := pmStepDone[step]; !ok {
		return errs.E(errs.NotFound, "no such step")
	}
	d, err := u.pmData(c)
	if err != nil {
		return err
	}
	ack := step == rca.Publish && c.FormValue("acknowledge_pii") != ""
	if _, err := u.d.RCA.Step(c.UserContext(), caller(c), d.Incident.Key, step, ack, u.g.meta(c)); err != nil {
		var e *errs.Error
		if step == rca.Publish && errors.As(err, &e) && e.Code == errs.Conflict && len(e.Fields) > 0 {
			d.Findings = e.Fields
			return u.render(c, fiber.StatusConflict, "postmortem_edit", view{Title: pmTitle(d.Incident), Nav: "incidents", Data: d,
				Message: "The postmortem may identify people. Redact it, or publish acknowledging the findings."})
		}
		return u.formError(c, err, "postmortem_edit", pmTitle(d.Incident), "incidents", d)
	}
	return u.redirect(c, incPath(d.Incident.Key, "/postmortem"), pmStepDone[step])
}

// --- the reading view ---

type pmListData struct {
	Q, Severity, Category string
	Rows                  []row
	Total                 uint64
	Next                  string
}

func (u *ui) mayReadPostmortems(c *fiber.Ctx) error {
	if !auth.Can(caller(c), auth.ReadPostmortem, auth.Resource{Published: true}) {
		return errs.E(errs.Forbidden, "your role may not read postmortems")
	}
	return nil
}

// postmortemList lists published postmortems, newest first. The index
// holds no root causes on postmortems, so a category filter keeps the
// postmortems of the incidents that have a root cause of that category.
func (u *ui) postmortemList(c *fiber.Ctx) error {
	if err := u.mayReadPostmortems(c); err != nil {
		return err
	}
	ctx, user := c.UserContext(), caller(c)
	data := pmListData{Q: c.Query("q"), Severity: c.Query("severity"), Category: c.Query("category")}
	var f errs.Fields
	limit, offset := listPage(c, &f)
	r := search.Request{Query: data.Q, Types: []string{search.TypePostmortem}, Filters: map[string][]string{},
		Sort: "-created_at", From: offset, Size: limit}
	r.Filters["severity"] = filterValues(c, "severity", func(v string) bool { return rca.Severity(v).Valid() }, &f)
	if data.Category != "" && !rca.Category(data.Category).Valid() {
		f.Add("category", "must be product, process or policy")
	}
	if len(data.Q) > 200 {
		f.Add("q", "must be at most 200 characters")
	}
	if err := f.Err(); err != nil {
		return u.formError(c, err, "postmortems", "Postmortems", "postmortems", data)
	}
	if data.Category != "" {
		ins, _, err := u.d.RCA.ListIncidents(ctx, user, rca.IncidentQuery{RootCauseCategory: rca.Category(data.Category), Limit: 10000})
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(ins))
		for _, in := range ins {
			keys = append(keys, in.Key)
		}
		if len(keys) == 0 {
			return u.page(c, "postmortems", "Postmortems", "postmortems", data)
		}
		r.Filters["key"] = keys
	}
	res, err := u.d.Search.Search(ctx, user, r)
	if err != nil {
		return u.formError(c, err, "postmortems", "Postmortems", "postmortems", data)
	}
	data.Rows, data.Total = rows(res, u.d.Now()), res.Total
	if next := nextOffset(offset, len(res.Hits), int(res.Total)); next != "" {
		q := url.Values{"cursor": {next}}
		for k, v := range map[string]string{"q": data.Q, "severity": data.Severity, "category": data.Category} {
			if v != "" {
				q.Set(k, v)
			}
		}
		data.Next = "/postmortems?" + q.Encode()
	}
	return u.page(c, "postmortems", "Postmortems", "postmortems", data)
}

// causeGroup is the root causes of one category.
type causeGroup struct {
	Category rca.Category
	Causes   []rca.ReadingCause
}

type pmReadData struct {
	rca.Reading
	Timeline []rca.TimelineItem
	Groups   []causeGroup
	Form     pmForm
}

func (u *ui) postmortemRead(c *fiber.Ctx) error {
	if err := u.mayReadPostmortems(c); err != nil {
		return err
	}
	r, err := u.d.RCA.Reading(c.UserContext(), caller(c), c.Params("key"))
	if err != nil {
		return err
	}
	d := pmReadData{Reading: r, Timeline: slices.Clone(r.Content.Timeline), Form: pmFormOf(rca.Postmortem{Content: r.Content})}
	slices.SortStableFunc(d.Timeline, func(a, b rca.TimelineItem) int { return a.At.Compare(b.At) })
	for _, cat := range rca.Categories {
		g := causeGroup{Category: cat}
		for _, rc := range r.RootCauses {
			if rc.Category == cat {
				g.Causes = append(g.Causes, rc)
			}
		}
		if len(g.Causes) > 0 {
			d.Groups = append(d.Groups, g)
		}
	}
	return u.page(c, "postmortem", "Postmortem "+r.IncidentKey+": "+r.Title, "postmortems", d)
}
