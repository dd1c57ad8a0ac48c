package web

// Lead pages: the approval inbox, QA review and calibration, scorecards
// and the risk register. Each page asks the same service the API asks, so
// the services decide who may do what; the pages only hide buttons a user
// could not use.

import (
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/url"
	"slices"
	"strings"

	"casefile.dev/casefile/internal/svgchart"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/search"
)

// uiLeadFuncs are this page group's template functions.
var uiLeadFuncs = template.FuncMap{
	// leadPath escapes one path segment (decision ids hold ':').
	"leadPath": url.PathEscape,
	// leadCounts sorts a count map by count, largest first.
	"leadCounts": leadSortedCounts,
	"leadInterval": func(v any) string {
		return leadFormatInterval(v)
	},
	"leadPercentPtr": func(p *float64) string {
		if p == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.1f%%", 100**p)
	},
	"leadFieldErr": func(errors map[string]string, field string) string { return errors[field] },
	"leadHas":      func(list []string, v string) bool { return slices.Contains(list, v) },
	"leadAdd":      func(a, b int) int { return a + b },
	// leadList is its arguments as a list, for ranging over fixed options.
	"leadList": func(s ...string) []string { return s },
	// leadDuration prints an enforcement's duration as the API writes it.
	"leadDuration": func(d cases.Duration) string {
		b, _ := d.MarshalText()
		return string(b)
	},
}

// routesLead mounts this group's pages.
func (u *ui) routesLead(r fiber.Router) {
	r.Get("/approvals", u.leadApprovals)
	r.Post("/approvals/:case/:eid/:decision", u.leadDecide)

	// Calibration first: /qa/:id would take its paths otherwise.
	r.Get("/qa/calibration", u.leadCalibrationList)
	r.Get("/qa/calibration/new", u.leadCalibrationNew)
	r.Post("/qa/calibration/new", u.leadCalibrationCreate)
	r.Get("/qa/calibration/:id", u.leadCalibrationGet)
	r.Post("/qa/calibration/:id/assign", u.leadCalibrationAssign)
	r.Post("/qa/calibration/:id/answers", u.leadCalibrationAnswer)
	r.Get("/qa", u.leadQAQueue)
	r.Get("/qa/:id", u.leadQAItem)
	r.Post("/qa/:id", u.leadQAReview)
	r.Post("/qa/:id/correction", u.leadQACorrect)

	r.Get("/scorecards", u.leadScorecards)

	r.Get("/risks", u.leadRiskList)
	r.Get("/risks/new", u.leadRiskNew)
	r.Post("/risks/new", u.leadRiskCreate)
	r.Get("/risks/:id", u.leadRiskGet)
	r.Post("/risks/:id/edit", u.leadRiskEdit)
	r.Post("/risks/:id/link", u.leadRiskLink)
	r.Post("/risks/:id/changes", u.leadRiskAddChange)
	r.Post("/risks/:id/changes/:n", u.leadRiskUpdateChange)
	r.Post("/risks/:id/rca", u.leadRiskSeed)
}

// leadParam is a path parameter, unescaped (links escape them).
func leadParam(c *fiber.Ctx, name string) string {
	v := c.Params(name)
	if s, err := url.PathUnescape(v); err == nil {
		return s
	}
	return v
}

// leadUserError is err as a message for a page, when it is the user's to
// fix (anything but internal errors and hidden objects).
func leadUserError(err error) (*errs.Error, bool) {
	var e *errs.Error
	if !errors.As(err, &e) || e.Code == errs.Internal || e.Code == errs.NotFound {
		return nil, false
	}
	return e, true
}

// leadFail re-renders a page after a refused post, like formError, but
// also shows refusals (a lead approving their own proposal, a conflict)
// as the page's message rather than an error page.
func (u *ui) leadFail(c *fiber.Ctx, err error, name, title, nav string, data any) error {
	e, ok := leadUserError(err)
	if !ok {
		return err
	}
	if e.Code != errs.Forbidden {
		return u.formError(c, err, name, title, nav, data)
	}
	return u.render(c, statusOf[e.Code], name, view{Title: title, Nav: nav, Data: data, Message: e.Message})
}

// leadCount is one entry of a sorted count map.
type leadCount struct {
	Key   string
	Count int
}

func leadSortedCounts(m any) []leadCount {
	var out []leadCount
	switch mm := m.(type) {
	case map[string]int:
		for k, v := range mm {
			out = append(out, leadCount{k, v})
		}
	case map[rca.Category]int:
		for k, v := range mm {
			out = append(out, leadCount{string(k), v})
		}
	}
	slices.SortFunc(out, func(a, b leadCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// leadBarChart draws values (in order) as bars; empty without values.
func leadBarChart(label string, labels []string, values []int) template.HTML {
	if len(values) == 0 {
		return ""
	}
	vs := make([]float64, len(values))
	for i, v := range values {
		vs[i] = float64(v)
	}
	return svgchart.Chart{Title: label, Categories: labels, Series: []svgchart.Series{{Name: label, Values: vs}}, Whole: true, Height: 220}.SVG()
}

// --- approvals ---

type leadPending struct {
	CaseID, CaseKey, CaseTitle string
	Team, Vendor               string
	Enforcement                cases.Enforcement
	Own                        bool
}

type leadPostmortem struct {
	Key, Title, Severity string
}

type leadApprovalsData struct {
	Pending     []leadPending
	Postmortems []leadPostmortem
	Total       uint64
}

const leadApprovalsLimit = 100

func (u *ui) leadApprovalsData(c *fiber.Ctx) (leadApprovalsData, error) {
	usr := caller(c)
	if !auth.Can(usr, auth.ApproveEnforcement, auth.Resource{}) {
		return leadApprovalsData{}, errs.E(errs.Forbidden, "your role may not approve enforcements")
	}
	ctx := c.UserContext()
	res, err := u.d.Search.Search(ctx, usr, search.Request{Types: []string{search.TypeCase},
		Filters: map[string][]string{"approval": {search.ApprovalPending}}, Sort: "-updated_at", Size: leadApprovalsLimit})
	if err != nil {
		return leadApprovalsData{}, err
	}
	data := leadApprovalsData{Total: res.Total}
	for _, h := range res.Hits {
		kc, err := u.d.Cases.Get(ctx, usr, h.ID, u.g.meta(c))
		if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
			continue
		}
		if err != nil {
			return leadApprovalsData{}, err
		}
		for _, e := range kc.Enforcements {
			if e.Status == cases.Proposed {
				data.Pending = append(data.Pending, leadPending{CaseID: kc.ID, CaseKey: kc.Key, CaseTitle: kc.Title, Team: kc.Team,
					Vendor: kc.Vendor, Enforcement: e, Own: e.ProposedBy == usr.Username})
			}
		}
	}
	if auth.Can(usr, auth.ReadIncident, auth.Resource{}) {
		incs, _, err := u.d.RCA.ListIncidents(ctx, usr, rca.IncidentQuery{Limit: 500})
		if err != nil && !errs.Is(err, errs.Forbidden) {
			return leadApprovalsData{}, err
		}
		for _, in := range incs {
			if in.PostmortemStatus != nil && *in.PostmortemStatus == rca.InReview {
				data.Postmortems = append(data.Postmortems, leadPostmortem{Key: in.Key, Title: in.Title, Severity: string(in.Severity)})
			}
		}
	}
	return data, nil
}

func (u *ui) leadApprovals(c *fiber.Ctx) error {
	data, err := u.leadApprovalsData(c)
	if err != nil {
		return err
	}
	return u.page(c, "approvals", "Approvals", "approvals", data)
}

func (u *ui) leadDecide(c *fiber.Ctx) error {
	var d cases.Decision
	switch c.Params("decision") {
	case "approve":
		d = cases.Approve
	case "reject":
		d = cases.Reject
	default:
		return errs.E(errs.NotFound, "no such decision")
	}
	caseID, eid := leadParam(c, "case"), leadParam(c, "eid")
	e, err := u.d.Cases.Decide(c.UserContext(), caller(c), caseID, eid, d, strings.TrimSpace(c.FormValue("reason")), u.g.meta(c))
	if err != nil {
		ue, ok := leadUserError(err)
		if !ok {
			return err
		}
		data, derr := u.leadApprovalsData(c)
		if derr != nil {
			return derr
		}
		return u.render(c, statusOf[ue.Code], "approvals", view{Title: "Approvals", Nav: "approvals", Data: data, Message: ue.Message})
	}
	verb := "Approved"
	if d == cases.Reject {
		verb = "Rejected"
	}
	return u.redirect(c, "/approvals", fmt.Sprintf("%s the %s on %s.", verb, strings.ReplaceAll(string(e.Action), "_", " "), caseID))
}

// leadKeys is a map's keys, sorted.
func leadKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
