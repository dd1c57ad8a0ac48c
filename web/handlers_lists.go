package web

import (
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/search"
)

// List views are searches: filters, sort and pages come from the index,
// and each row carries what a list shows, so listing reads no document
// from the store. Opening a row reads the store by id.

// row is one list entry.
type row map[string]any

// rowFields maps index fields to row names.
var rowNames = map[string]string{
	"id": "id", "key": "key", "title": "title", "status": "status", "severity": "severity", "policy_area": "policy_areas",
	"root_cause_category": "root_cause_categories", "team": "team", "vendor": "vendor", "assignee": "assignee",
	"actor_id": "actor_id", "created_at": "created_at", "updated_at": "updated_at", "due": "due", "restricted": "restricted",
}

// listFields are index fields that hold lists, shown as arrays even with one value.
var listFields = []string{"policy_area", "root_cause_category"}

func toRow(h search.Hit, now time.Time) row {
	r := row{}
	for f, name := range rowNames {
		v, ok := h.Fields[f]
		if !ok {
			continue
		}
		if slices.Contains(listFields, f) {
			if s, ok := v.(string); ok {
				v = []any{s}
			}
		}
		r[name] = v
	}
	if h.Type == search.TypeCase {
		r["sla_state"] = slaState(h.Fields, now)
	}
	return r
}

// slaState reads a case's SLA state at now from the marks in the index.
func slaState(fields map[string]any, now time.Time) string {
	at := func(f string) (time.Time, bool) {
		s, ok := fields[f].(string)
		if !ok {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339, s)
		return t, err == nil
	}
	if b, _ := fields["breached"].(bool); b {
		return string(cases.SLABreached)
	}
	if due, ok := at("due"); ok && !now.Before(due) {
		return string(cases.SLABreached)
	}
	if risk, ok := at("at_risk"); ok && !now.Before(risk) {
		return string(cases.SLAAtRisk)
	}
	return string(cases.SLAOk)
}

func rows(res search.Result, now time.Time) []row {
	out := make([]row, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = toRow(h, now)
	}
	return out
}

// listPage reads limit and the offset cursor.
func listPage(c *fiber.Ctx, f *errs.Fields) (limit, offset int) {
	limit, cursor := pageParams(c, f)
	return limit, offsetCursor(cursor, f)
}

// sortParam maps a list's sort parameter to the index's.
func sortParam(c *fiber.Ctx, allowed []string, def string, f *errs.Fields) string {
	s := c.Query("sort", def)
	key := s
	if len(key) > 0 && key[0] == '-' {
		key = key[1:]
	}
	if !slices.Contains(allowed, key) {
		f.Add("sort", "must be one of %v, with - for descending", allowed)
	}
	return s
}

func filterValues(c *fiber.Ctx, name string, valid func(string) bool, f *errs.Fields) []string {
	vals := splitList(c.Query(name))
	for _, v := range vals {
		if len(v) > 200 || (valid != nil && !valid(v)) {
			f.Add(name, "%q is not a valid value", v)
		}
	}
	return vals
}

// handleCaseList is GET /cases.
func handleCaseList(s Searcher, now func() time.Time) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := caller(c)
		if scope := auth.ReadableCases(u); scope == (auth.CaseScope{}) {
			return errs.E(errs.Forbidden, "your role may not list cases")
		}
		var f errs.Fields
		r := caseListRequest(c, now(), &f)
		if err := f.Err(); err != nil {
			return err
		}
		res, err := s.Search(c.UserContext(), u, r)
		if err != nil {
			return err
		}
		return c.JSON(list[row]{Items: rows(res, r.Now), NextCursor: nextOffset(r.From, len(res.Hits), int(res.Total)), Total: int64(res.Total)})
	}
}

// caseListRequest reads the query of a case list (the API's and the UI's)
// into an index request; bad parameters go to f.
func caseListRequest(c *fiber.Ctx, now time.Time, f *errs.Fields) search.Request {
	limit, offset := listPage(c, f)
	r := search.Request{
		Query: c.Query("q"), Types: []string{search.TypeCase}, Filters: map[string][]string{},
		CreatedFrom: timeParam(c, "created_from", f), CreatedTo: timeParam(c, "created_to", f),
		Sort: sortParam(c, []string{"created_at", "updated_at", "severity", "due"}, "-created_at", f),
		From: offset, Size: limit, SLAState: c.Query("sla_state"), Now: now,
	}
	r.Filters["status"] = filterValues(c, "status", func(v string) bool { return slices.Contains(cases.Statuses, cases.Status(v)) }, f)
	r.Filters["severity"] = filterValues(c, "severity", func(v string) bool { return cases.Severity(v).Valid() }, f)
	r.Filters["source_kind"] = filterValues(c, "source_kind", func(v string) bool { return v == "proactive" || v == "reactive" }, f)
	for param, field := range map[string]string{"policy_area": "policy_area", "assignee": "assignee", "team": "team", "vendor": "vendor", "actor_id": "actor_id"} {
		r.Filters[field] = filterValues(c, param, nil, f)
	}
	if r.SLAState != "" && !slices.Contains([]string{"ok", "at_risk", "breached"}, r.SLAState) {
		f.Add("sla_state", "must be ok, at_risk or breached")
	}
	return r
}

// handleIncidentList is GET /incidents.
func handleIncidentList(s Searcher, rs RCAService, now func() time.Time) fiber.Handler {
	summaries := incidentSummaries(rs)
	return func(c *fiber.Ctx) error {
		u := caller(c)
		if !auth.Can(u, auth.ReadIncident, auth.Resource{}) {
			return errs.E(errs.Forbidden, "your role may not list incidents")
		}
		var f errs.Fields
		limit, offset := listPage(c, &f)
		r := search.Request{
			Query: c.Query("q"), Types: []string{search.TypeIncident}, Filters: map[string][]string{},
			CreatedFrom: timeParam(c, "from", &f), CreatedTo: timeParam(c, "to", &f),
			Sort: sortParam(c, []string{"created_at", "updated_at", "severity"}, "-created_at", &f),
			From: offset, Size: limit,
		}
		r.Filters["status"] = filterValues(c, "status", func(v string) bool {
			return v == string(rca.Investigating) || v == string(rca.Mitigated) || v == string(rca.Resolved)
		}, &f)
		r.Filters["severity"] = filterValues(c, "severity", func(v string) bool { return rca.Severity(v).Valid() }, &f)
		r.Filters["root_cause_category"] = filterValues(c, "root_cause_category", func(v string) bool { return rca.Category(v).Valid() }, &f)
		if err := f.Err(); err != nil {
			return err
		}
		if !auth.Can(u, auth.EditIncident, auth.Resource{}) {
			// The index holds whole incidents; leadership may read only
			// summaries, which the store serves.
			return summaries(c)
		}
		res, err := s.Search(c.UserContext(), u, r)
		if err != nil {
			return err
		}
		return c.JSON(list[row]{Items: rows(res, now()), NextCursor: nextOffset(offset, len(res.Hits), int(res.Total)), Total: int64(res.Total)})
	}
}

// handlePostmortemList is GET /postmortems: published postmortems, newest
// first (q searches them).
func handlePostmortemList(s Searcher, now func() time.Time) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := caller(c)
		if !auth.Can(u, auth.ReadPostmortem, auth.Resource{Published: true}) {
			return errs.E(errs.Forbidden, "your role may not read postmortems")
		}
		var f errs.Fields
		limit, offset := listPage(c, &f)
		r := search.Request{Query: c.Query("q"), Types: []string{search.TypePostmortem}, Filters: map[string][]string{},
			Sort: "-created_at", From: offset, Size: limit}
		r.Filters["severity"] = filterValues(c, "severity", func(v string) bool { return rca.Severity(v).Valid() }, &f)
		if err := f.Err(); err != nil {
			return err
		}
		res, err := s.Search(c.UserContext(), u, r)
		if err != nil {
			return err
		}
		items := rows(res, now())
		for _, it := range items {
			it["published_at"] = it["created_at"]
			delete(it, "created_at")
		}
		return c.JSON(list[row]{Items: items, NextCursor: nextOffset(offset, len(res.Hits), int(res.Total)), Total: int64(res.Total)})
	}
}
