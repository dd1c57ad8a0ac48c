package web

import (
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/rca/risk"
)

type leadRiskListData struct {
	Items              []risk.Summary
	Total              int
	Status, PolicyArea string
	Owner              string
	Statuses           []risk.Status
	PolicyAreas        []string
	CanEdit            bool
	Prev, Next         string
}

func (u *ui) leadRiskList(c *fiber.Ctx) error {
	usr := caller(c)
	offset, _ := strconv.Atoi(c.Query("offset"))
	offset = max(0, offset)
	d := leadRiskListData{Status: c.Query("status"), PolicyArea: c.Query("policy_area"), Owner: strings.TrimSpace(c.Query("owner")),
		Statuses: risk.Statuses, CanEdit: auth.Can(usr, auth.EditRisk, auth.Resource{})}
	q := risk.Query{Limit: leadPageSize, Offset: offset}
	if d.Status != "" {
		if !risk.Status(d.Status).Valid() {
			return errs.E(errs.Invalid, "unknown status")
		}
		q.Statuses = []risk.Status{risk.Status(d.Status)}
	}
	if d.PolicyArea != "" {
		q.PolicyAreas = []string{d.PolicyArea}
	}
	if d.Owner != "" {
		q.Owners = []string{d.Owner}
	}
	items, total, err := u.d.Risks.List(c.UserContext(), usr, q, u.g.meta(c))
	if err != nil {
		return err
	}
	d.Items, d.Total = items, total
	if tax, _, err := u.d.Cases.Taxonomy(c.UserContext()); err == nil {
		d.PolicyAreas = tax.PolicyAreas
	}
	page := func(off int) string {
		v := url.Values{}
		for k, s := range map[string]string{"status": d.Status, "policy_area": d.PolicyArea, "owner": d.Owner} {
			if s != "" {
				v.Set(k, s)
			}
		}
		v.Set("offset", strconv.Itoa(off))
		return "/risks?" + v.Encode()
	}
	if offset > 0 {
		d.Prev = page(max(0, offset-leadPageSize))
	}
	if offset+len(items) < total {
		d.Next = page(offset + len(items))
	}
	return u.page(c, "risks", "Risk register", "risks", d)
}

type leadRiskNewData struct {
	Title, Description, Owner, Discovery string
	PolicyAreas                          []string
	AllAreas                             []string
}

func (u *ui) leadRiskForm(c *fiber.Ctx) (leadRiskNewData, error) {
	if !auth.Can(caller(c), auth.EditRisk, auth.Resource{}) {
		return leadRiskNewData{}, errs.E(errs.Forbidden, "your role may not file risks")
	}
	tax, _, err := u.d.Cases.Taxonomy(c.UserContext())
	if err != nil {
		return leadRiskNewData{}, err
	}
	return leadRiskNewData{AllAreas: tax.PolicyAreas, Discovery: string(risk.Proactive)}, nil
}

func (u *ui) leadRiskNew(c *fiber.Ctx) error {
	d, err := u.leadRiskForm(c)
	if err != nil {
		return err
	}
	return u.page(c, "risk_new", "New risk", "risks", d)
}

// leadFormList is every value of a repeated form field.
func leadFormList(c *fiber.Ctx, name string) []string {
	var out []string
	for _, v := range c.Request().PostArgs().PeekMulti(name) {
		if s := strings.TrimSpace(string(v)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (u *ui) leadRiskCreate(c *fiber.Ctx) error {
	d, err := u.leadRiskForm(c)
	if err != nil {
		return err
	}
	d.Title, d.Description = c.FormValue("title"), c.FormValue("description")
	d.Owner, d.Discovery = strings.TrimSpace(c.FormValue("owner")), c.FormValue("discovery")
	d.PolicyAreas = leadFormList(c, "policy_areas")
	r, err := u.d.Risks.Create(c.UserContext(), caller(c), risk.NewRisk{Title: d.Title, Description: d.Description,
		PolicyAreas: d.PolicyAreas, Owner: d.Owner, Discovery: risk.Discovery(d.Discovery)}, u.g.meta(c))
	if err != nil {
		return u.leadFail(c, err, "risk_new", "New risk", "risks", d)
	}
	return u.redirect(c, "/risks/"+url.PathEscape(r.Key), "Risk "+r.Key+" filed.")
}

type leadRiskData struct {
	Risk        risk.Risk
	Chart       template.HTML
	Months      []leadCount
	Moves       []risk.Status
	CanEdit     bool
	ReadsCases  bool
	ChangeState []rca.ActionItemStatus
	Categories  []rca.Category
	Severities  []rca.Severity
}

func (u *ui) leadRiskData(c *fiber.Ctx) (leadRiskData, error) {
	usr := caller(c)
	r, err := u.d.Risks.Get(c.UserContext(), usr, leadParam(c, "id"), u.g.meta(c))
	if err != nil {
		return leadRiskData{}, err
	}
	d := leadRiskData{Risk: r, Moves: risk.AllowedMoves(r.Status), CanEdit: auth.Can(usr, auth.EditRisk, auth.Resource{}),
		ReadsCases:  auth.ReadableCases(usr) != auth.CaseScope{},
		ChangeState: []rca.ActionItemStatus{rca.ItemOpen, rca.ItemInProgress, rca.ItemDone, rca.ItemWontDo},
		Categories:  rca.Categories, Severities: []rca.Severity{"sev0", "sev1", "sev2", "sev3"}}
	months := leadKeys(r.Evidence.ByMonth)
	values := make([]int, len(months))
	for i, m := range months {
		values[i] = r.Evidence.ByMonth[m]
		d.Months = append(d.Months, leadCount{Key: m, Count: values[i]})
	}
	d.Chart = leadBarChart("Linked cases by month filed", months, values)
	return d, nil
}

func (u *ui) leadRiskGet(c *fiber.Ctx) error {
	d, err := u.leadRiskData(c)
	if err != nil {
		return err
	}
	return u.page(c, "risk", d.Risk.Key+" "+d.Risk.Title, "risks", d)
}

// leadVersion is the form's hidden version: the If-Match of the edit.
func leadVersion(c *fiber.Ctx) (int64, error) {
	v, err := strconv.ParseInt(c.FormValue("version"), 10, 64)
	if err != nil || v < 1 {
		return 0, errs.E(errs.PreconditionFailed, "the form has no version")
	}
	return v, nil
}

func (u *ui) leadRiskEdit(c *fiber.Ctx) error {
	d, err := u.leadRiskData(c)
	if err != nil {
		return err
	}
	version, err := leadVersion(c)
	if err == nil {
		var p risk.Patch
		if s := c.FormValue("status"); s != "" && s != string(d.Risk.Status) {
			st := risk.Status(s)
			p.Status = &st
		}
		if o := strings.TrimSpace(c.FormValue("owner")); o != "" && o != d.Risk.Owner {
			p.Owner = &o
		}
		if t := c.FormValue("title"); t != "" && t != d.Risk.Title {
			p.Title = &t
		}
		if c.Request().PostArgs().Has("description") {
			if desc := c.FormValue("description"); desc != d.Risk.Description {
				p.Description = &desc
			}
		}
		_, err = u.d.Risks.Update(c.UserContext(), caller(c), d.Risk.Key, version, p, u.g.meta(c))
	}
	if err != nil {
		return u.leadFail(c, err, "risk", d.Risk.Key+" "+d.Risk.Title, "risks", d)
	}
	return u.redirect(c, "/risks/"+url.PathEscape(d.Risk.Key), "Risk updated.")
}

func (u *ui) leadRiskLink(c *fiber.Ctx) error {
	d, err := u.leadRiskData(c)
	if err != nil {
		return err
	}
	t := risk.LinkTarget{IncidentID: strings.TrimSpace(c.FormValue("incident_id")), CaseID: strings.TrimSpace(c.FormValue("case_id"))}
	if _, err := u.d.Risks.Link(c.UserContext(), caller(c), d.Risk.Key, t, 0, u.g.meta(c)); err != nil {
		return u.leadFail(c, err, "risk", d.Risk.Key+" "+d.Risk.Title, "risks", d)
	}
	return u.redirect(c, "/risks/"+url.PathEscape(d.Risk.Key), "Linked.")
}

func leadDate(v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return nil, &errs.Error{Code: errs.Invalid, Message: "check the due date", Fields: []errs.FieldError{{Field: "due", Message: "must be a date such as 2026-04-01"}}}
	}
	return &t, nil
}

func (u *ui) leadRiskAddChange(c *fiber.Ctx) error {
	d, err := u.leadRiskData(c)
	if err != nil {
		return err
	}
	due, err := leadDate(c.FormValue("due"))
	if err == nil {
		_, _, err = u.d.Risks.AddChange(c.UserContext(), caller(c), d.Risk.Key, risk.NewChange{Title: c.FormValue("title"),
			Owner: strings.TrimSpace(c.FormValue("owner")), Due: due, Category: rca.Category(c.FormValue("category"))}, 0, u.g.meta(c))
	}
	if err != nil {
		return u.leadFail(c, err, "risk", d.Risk.Key+" "+d.Risk.Title, "risks", d)
	}
	return u.redirect(c, "/risks/"+url.PathEscape(d.Risk.Key), "Change requested.")
}

func (u *ui) leadRiskUpdateChange(c *fiber.Ctx) error {
	d, err := u.leadRiskData(c)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Params("n"))
	if err != nil || n < 1 || !slices.ContainsFunc(d.Risk.Changes, func(ch risk.Change) bool { return ch.N == n }) {
		return errs.E(errs.NotFound, "no such requested change")
	}
	version, err := leadVersion(c)
	if err == nil {
		var p risk.ChangePatch
		if s := c.FormValue("status"); s != "" {
			st := rca.ActionItemStatus(s)
			p.Status = &st
		}
		if o := strings.TrimSpace(c.FormValue("owner")); o != "" {
			p.Owner = &o
		}
		_, _, err = u.d.Risks.UpdateChange(c.UserContext(), caller(c), d.Risk.Key, n, version, p, u.g.meta(c))
	}
	if err != nil {
		return u.leadFail(c, err, "risk", d.Risk.Key+" "+d.Risk.Title, "risks", d)
	}
	return u.redirect(c, "/risks/"+url.PathEscape(d.Risk.Key), "Change updated.")
}

func (u *ui) leadRiskSeed(c *fiber.Ctx) error {
	d, err := u.leadRiskData(c)
	if err != nil {
		return err
	}
	s, err := u.d.Risks.SeedRCA(c.UserContext(), caller(c), d.Risk.Key, rca.Severity(c.FormValue("severity")), u.g.meta(c))
	if err != nil {
		return u.leadFail(c, err, "risk", d.Risk.Key+" "+d.Risk.Title, "risks", d)
	}
	return u.redirect(c, "/incidents/"+url.PathEscape(s.IncidentKey), "Incident "+s.IncidentKey+" opened for an RCA of "+d.Risk.Key+".")
}
