package web

// Exports: a case or a published postmortem as a Markdown or PDF file, the
// case list as CSV, the applied enforcements (JSON or CSV) and the
// enforcement report. The services read what the caller may read and
// audit each export; these handlers choose the format and the file.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/pdf"
	"casefile.dev/casefile/search"
)

// exportFormat is a file format of the document exports.
type exportFormat struct {
	name, ext, contentType string
}

var (
	asMarkdown = exportFormat{name: cases.FormatMarkdown, ext: "md", contentType: "text/markdown; charset=utf-8"}
	asPDF      = exportFormat{name: cases.FormatPDF, ext: "pdf", contentType: "application/pdf"}
)

// handleCaseExport is GET /cases/{id}.md and .pdf (and the pages'
// /cases/{key}/export.md and .pdf); param names the route's parameter.
func handleCaseExport(svc CaseService, g guard, f exportFormat, param string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		e, err := svc.ExportMarkdown(c.UserContext(), caller(c), c.Params(param), f.name, g.meta(c))
		if err != nil {
			return err
		}
		return sendDocument(c, f, e.Key, e.Title, e.Markdown, e.At)
	}
}

// handlePostmortemExport is GET /postmortems/{id}.md and .pdf: the
// published reading, as leadership reads it.
func handlePostmortemExport(svc RCAService, g guard, f exportFormat, param string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		e, err := svc.ExportReading(c.UserContext(), caller(c), c.Params(param), f.name, g.meta(c))
		if err != nil {
			return err
		}
		return sendDocument(c, f, e.Key, e.Title, e.Markdown, e.At)
	}
}

// sendDocument answers with the Markdown, or with the PDF typeset from
// exactly that Markdown, as an attachment no cache keeps.
func sendDocument(c *fiber.Ctx, f exportFormat, key, title, markdown string, at time.Time) error {
	body := []byte(markdown)
	if f == asPDF {
		b, err := pdf.Render(markdown, pdf.Options{Title: key + ": " + title, Created: at,
			Footer: key + " · exported " + at.UTC().Format(time.RFC3339)})
		if err != nil {
			return err
		}
		body = b
	}
	c.Set(fiber.HeaderContentType, f.contentType)
	c.Set(fiber.HeaderContentDisposition, attachment(key+"."+f.ext))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(body)
}

// csvOr answers a list route with csvHandler when the request asks for
// CSV (wantsCSV), else with next.
func csvOr(csvHandler, next fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		want, err := wantsCSV(c)
		if err != nil {
			return err
		}
		if want {
			return csvHandler(c)
		}
		return next(c)
	}
}

// maxCSVRows caps a CSV of the case list: the index pages up to
// search.MaxFrom, and a bigger export wants narrower filters. A capped
// file says so in its headers (sendCSV).
const maxCSVRows = 10_000

var caseCSVHeader = []string{"key", "title", "status", "severity", "policy_areas", "team", "vendor", "assignee", "actor_id",
	"sla_state", "restricted", "created_at", "updated_at", "due"}

// handleCaseListCSV is GET /cases?format=csv (and the pages' /cases.csv):
// every case of the list with the same filters and sort, up to
// maxCSVRows, in the columns of caseCSVHeader. Pages of the index are
// read one after another, so a case changed meanwhile may be missed or
// listed twice.
func handleCaseListCSV(s Searcher, now func() time.Time, g guard) fiber.Handler {
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
		r.From, r.Size = 0, search.MaxSize
		var out [][]string
		total := 0
		for {
			res, err := s.Search(c.UserContext(), u, r)
			if err != nil {
				return err
			}
			total = int(res.Total)
			for _, h := range res.Hits {
				out = append(out, caseCSVRow(toRow(h, r.Now)))
			}
			if len(res.Hits) < r.Size || len(out) >= min(total, maxCSVRows) || r.From+r.Size > search.MaxFrom {
				break
			}
			r.From += r.Size
		}
		out = out[:min(len(out), maxCSVRows)]
		m := g.meta(c)
		if err := g.audit.Record(c.UserContext(), auth.AuditEvent{User: u.Username, Role: u.Role, Action: "case.list_export",
			Entity: auth.Entity{Type: "cases"}, IP: m.IP, RequestID: m.RequestID, Outcome: auth.OutcomeSuccess,
			Detail: map[string]string{"format": cases.FormatCSV, "rows": strconv.Itoa(len(out)), "total": strconv.Itoa(total)}}); err != nil {
			return err
		}
		return sendCSV(c, "cases.csv", caseCSVHeader, out, total)
	}
}

func caseCSVRow(r row) []string {
	str := func(k string) string {
		switch v := r[k].(type) {
		case string:
			return v
		case bool:
			return strconv.FormatBool(v)
		case []any:
			parts := make([]string, 0, len(v))
			for _, x := range v {
				parts = append(parts, fmt.Sprint(x))
			}
			return strings.Join(parts, ";")
		case nil:
			return ""
		default:
			return fmt.Sprint(v)
		}
	}
	out := make([]string, len(caseCSVHeader))
	for i, k := range caseCSVHeader {
		out[i] = str(k)
	}
	if out[10] == "" {
		out[10] = "false" // restricted: the index leaves false out of some rows
	}
	return out
}

var enforcementCSVHeader = []string{"case_key", "decision_id", "policy_area", "action", "duration", "applied_at", "reversed",
	"reversed_at", "reversal_reason"}

// handleEnforcements is GET /enforcements: the applied enforcements of the
// cases the caller may read (cases.Service.Enforcements), oldest first,
// filtered by from, to (applied at), policy_area and action; a JSON list
// page, or with format=csv every row up to cases.MaxEnforcementRows.
// include_actor=true adds the actor id, for roles that may read actors;
// vendor agents asking for it are refused (403), leadership may not use
// the route at all (they read /reports/enforcement).
func handleEnforcements(svc CaseService, s Searcher, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := caller(c)
		if !auth.Can(u, auth.ListEnforcements, auth.Resource{}) {
			return errs.E(errs.Forbidden, "your role may not list enforcement decisions; read /reports/enforcement")
		}
		asCSV, err := wantsCSV(c)
		if err != nil {
			return err
		}
		var f errs.Fields
		q := cases.EnforcementQuery{From: timeParam(c, "from", &f), To: timeParam(c, "to", &f), Format: cases.FormatJSON}
		checkPeriod(q.From, q.To, &f)
		q.PolicyAreas = filterValues(c, "policy_area", nil, &f)
		for _, a := range filterValues(c, "action", func(v string) bool { return cases.Action(v).Valid() }, &f) {
			q.Actions = append(q.Actions, cases.Action(a))
		}
		switch c.Query("include_actor") {
		case "", "false":
		case "true":
			q.IncludeActor = true
		default:
			f.Add("include_actor", "must be true or false")
		}
		q.Limit, q.Offset = listPage(c, &f)
		if asCSV {
			q.Limit, q.Offset, q.Format = cases.MaxEnforcementRows, 0, cases.FormatCSV
		}
		if err := f.Err(); err != nil {
			return err
		}
		page, err := svc.Enforcements(c.UserContext(), u, s, q, g.meta(c))
		if err != nil {
			return err
		}
		if !asCSV {
			read := max(0, min(q.Limit, page.Total-q.Offset))
			return c.JSON(list[cases.EnforcementRecord]{Items: page.Records, NextCursor: nextOffset(q.Offset, read, page.Total), Total: int64(page.Total)})
		}
		header := enforcementCSVHeader
		if q.IncludeActor {
			header = append(header[:len(header):len(header)], "actor_id")
		}
		rows := make([][]string, len(page.Records))
		for i, r := range page.Records {
			dur := ""
			if r.Duration > 0 {
				b, _ := r.Duration.MarshalText()
				dur = string(b)
			}
			rows[i] = []string{r.CaseKey, r.DecisionID, r.PolicyArea, string(r.Action), dur, stamp(&r.AppliedAt),
				strconv.FormatBool(r.Reversed), stamp(r.ReversedAt), r.ReversalReason}
			if q.IncludeActor {
				rows[i] = append(rows[i], r.ActorID)
			}
		}
		return sendCSV(c, "enforcements.csv", header, rows, page.Total)
	}
}

// handleEnforcementReport is GET /reports/enforcement: applied
// enforcements by action and by policy area with reversal rates, in JSON
// or (format=csv) one row per count.
func handleEnforcementReport(svc CaseService, s Searcher) fiber.Handler {
	return func(c *fiber.Ctx) error {
		asCSV, err := wantsCSV(c)
		if err != nil {
			return err
		}
		var f errs.Fields
		from, to := timeParam(c, "from", &f), timeParam(c, "to", &f)
		checkPeriod(from, to, &f)
		if err := f.Err(); err != nil {
			return err
		}
		rep, err := svc.EnforcementReport(c.UserContext(), caller(c), s, from, to)
		if err != nil {
			return err
		}
		if !asCSV {
			return c.JSON(rep)
		}
		var rows [][]string
		add := func(dim string, cs ...cases.EnforcementCount) {
			for _, n := range cs {
				rate := ""
				if n.ReversalRate != nil {
					rate = strconv.FormatFloat(*n.ReversalRate, 'f', 4, 64)
				}
				rows = append(rows, []string{dim, n.Key, strconv.Itoa(n.Applied), strconv.Itoa(n.Reversed), rate})
			}
		}
		add("total", rep.Total)
		add("action", rep.ByAction...)
		add("policy_area", rep.ByPolicyArea...)
		return sendCSV(c, "enforcement-report.csv", []string{"dimension", "key", "applied", "reversed", "reversal_rate"}, rows, len(rows))
	}
}

// checkPeriod: a period's end comes after its start.
func checkPeriod(from, to time.Time, f *errs.Fields) {
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		f.Add("to", "must be after from")
	}
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
