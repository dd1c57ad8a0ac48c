package web

// The investigator's pages: the queue, the case list, the case page with
// its forms, filing a case, evidence files and the actor profile. Every
// page asks the same services as the API; buttons are offered only where
// the service would accept them (cases.Case.MovesFor, DecisionsFor).

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
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
	"casefile.dev/casefile/rca/risk"
	"casefile.dev/casefile/search"
)

// uiCasesFuncs are this page group's template functions.
var uiCasesFuncs = template.FuncMap{
	// caseDur prints a duration as the API writes it ("7d", "72h").
	"caseDur": func(d cases.Duration) string {
		if d == 0 {
			return ""
		}
		b, _ := d.MarshalText()
		return string(b)
	},
	// caseMedia is "image" or "video" for an evidence file a page may show
	// (always veiled unless the user chose otherwise), "" for any other.
	"caseMedia": func(ev cases.Evidence) string {
		if ev.Attachment == nil {
			return ""
		}
		switch ct := ev.Attachment.ContentType; {
		case strings.HasPrefix(ct, "image/") && ct != "image/svg+xml":
			return "image"
		case strings.HasPrefix(ct, "video/"):
			return "video"
		}
		return ""
	},
	// caseStr reads a string field of an index row.
	"caseStr": func(r row, k string) string {
		s, _ := r[k].(string)
		return s
	},
	// caseList reads a list field of an index row.
	"caseList": func(r row, k string) []string {
		var out []string
		switch v := r[k].(type) {
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
		case string:
			out = []string{v}
		}
		return out
	},
	"caseMoveLabel": func(from, to cases.Status) string {
		if from == cases.StatusClosed {
			return "Reopen"
		}
		return "Move to " + strings.ReplaceAll(string(to), "_", " ")
	},
	"caseHas": func(list []string, v string) bool { return slices.Contains(list, v) },
}

// caseOpenStatuses are the statuses of cases still being worked.
var caseOpenStatuses = []string{string(cases.StatusNew), string(cases.StatusTriage), string(cases.StatusInvestigating), string(cases.StatusPendingReview)}

// routesCases mounts this group's pages.
func (u *ui) routesCases(r fiber.Router) {
	r.Get("/", u.queuePage)
	r.Get("/cases", u.caseListPage)
	r.Get("/cases/new", u.caseNewPage)
	r.Post("/cases/new", u.caseCreate)
	r.Get("/cases/:key", u.casePage)
	r.Post("/cases/:key/edit", u.caseEdit)
	r.Post("/cases/:key/reassign", u.caseReassign)
	r.Post("/cases/:key/transition", u.caseTransition)
	r.Post("/cases/:key/notes", u.caseNote)
	r.Post("/cases/:key/evidence", u.caseEvidence)
	// The same service call as the API's file route, through the session.
	r.Get("/cases/:id/evidence/:n/file", handleEvidenceFile(u.d.Cases, u.g))
	r.Post("/cases/:key/enforcements", u.casePropose)
	r.Post("/cases/:key/enforcements/:eid/:decision", u.caseDecide)
	r.Post("/cases/:key/risks", u.caseLinkRisk)
	r.Get("/actors/:actor_id", u.actorPage)
	r.Post("/settings/preferences", u.settingsPreferences)
}

// --- queue and list ---

type queueData struct {
	Rows  []row
	Total uint64
}

// queuePage is the caller's open cases, soonest SLA due first.
func (u *ui) queuePage(c *fiber.Ctx) error {
	me := caller(c)
	if auth.ReadableCases(me) == (auth.CaseScope{}) {
		return errs.E(errs.Forbidden, "your role has no case queue")
	}
	now := u.d.Now()
	res, err := u.d.Search.Search(c.UserContext(), me, search.Request{
		Types:   []string{search.TypeCase},
		Filters: map[string][]string{"assignee": {me.Username}, "status": caseOpenStatuses},
		Sort:    "due", Size: 200, Now: now,
	})
	if err != nil {
		return err
	}
	return u.page(c, "queue", "My queue", "queue", queueData{Rows: rows(res, now), Total: res.Total})
}

type caseListData struct {
	Filter map[string]string
	// CSV downloads the list with its filters and sort (/cases.csv).
	CSV         string
	Rows        []row
	Total       uint64
	From, To    int
	Next, Prev  string
	Statuses    []cases.Status
	Severities  []cases.Severity
	PolicyAreas []string
}

// caseListPage is GET /cases: the API's list, filtered by a GET form.
func (u *ui) caseListPage(c *fiber.Ctx) error {
	me := caller(c)
	if auth.ReadableCases(me) == (auth.CaseScope{}) {
		return errs.E(errs.Forbidden, "your role may not list cases")
	}
	data := caseListData{Filter: map[string]string{}, Statuses: cases.Statuses, Severities: cases.Severities}
	for _, k := range []string{"status", "severity", "policy_area", "team", "vendor", "sla_state", "q", "sort"} {
		data.Filter[k] = c.Query(k)
	}
	if tax, _, err := u.d.Cases.Taxonomy(c.UserContext()); err == nil {
		data.PolicyAreas = tax.PolicyAreas
	}
	var f errs.Fields
	r := caseListRequest(c, u.d.Now(), &f)
	if err := f.Err(); err != nil {
		return u.formError(c, err, "cases", "Cases", "cases", data)
	}
	res, err := u.d.Search.Search(c.UserContext(), me, r)
	if err != nil {
		return err
	}
	data.Rows, data.Total = rows(res, r.Now), res.Total
	data.From, data.To = r.From+1, r.From+len(res.Hits)
	q := url.Values{}
	for k, v := range data.Filter {
		if v != "" {
			q.Set(k, v)
		}
	}
	data.CSV = "/cases.csv?" + q.Encode()
	if c.Query("limit") != "" {
		q.Set("limit", c.Query("limit"))
	}
	if next := nextOffset(r.From, len(res.Hits), int(res.Total)); next != "" {
		q.Set("cursor", next)
		data.Next = "/cases?" + q.Encode()
	}
	if r.From > 0 {
		q.Del("cursor")
		if p := r.From - r.Size; p > 0 {
			q.Set("cursor", "o"+strconv.Itoa(p))
		}
		data.Prev = "/cases?" + q.Encode()
	}
	return u.page(c, "cases", "Cases", "cases", data)
}

// --- the case page ---

// enfView is an enforcement with the steps the caller may take on it.
type enfView struct {
	cases.Enforcement
	Decisions []cases.Decision
}

// recView is the ladder's recommendation for one policy area.
type recView struct {
	Area  string
	Rec   cases.Recommendation
	Error string
}

// editForm holds the values of the findings form (the case's, or what
// a refused post sent).
type editForm struct {
	Findings, ProposedResponse, MitigationPlan, Verdict string
	Version                                             int64
}

type casePageData struct {
	Case  cases.Case
	Moves []cases.Status
	// Rights of the caller on this case, for which forms to show.
	CanEdit, CanReassign, CanReadRisks, CanLinkRisk bool
	Proposable                                      []cases.Action
	Recs                                            []recView
	Enforcements                                    []enfView
	Risks                                           []risk.Summary
	Similar                                         []row
	QA                                              []quality.Item
	Edit                                            editForm
	Verdicts                                        []string
	EvidenceKinds                                   []string
	// Posted names the form a refused post came from, so its field
	// errors show there; Form holds what it sent.
	Posted string
	Form   map[string]string
}

var caseEvidenceKinds = []string{"video", "live", "comment", "profile", "listing", "review", "message", "other"}

// caseData reads everything the case page shows. A case the caller may not
// read is the service's 404.
func (u *ui) caseData(c *fiber.Ctx, key string) (casePageData, error) {
	ctx, me, m := c.UserContext(), caller(c), u.g.meta(c)
	kc, err := u.d.Cases.Get(ctx, me, key, m)
	if err != nil {
		return casePageData{}, err
	}
	now := u.d.Now()
	res := kc.Resource()
	d := casePageData{
		Case: kc, Moves: kc.MovesFor(me),
		CanEdit:      auth.Can(me, auth.EditCase, res),
		CanReassign:  auth.Can(me, auth.ReassignCase, res),
		CanReadRisks: auth.Can(me, auth.ReadRisk, auth.Resource{}) && u.d.Risks != nil,
		CanLinkRisk:  auth.Can(me, auth.EditRisk, auth.Resource{}) && u.d.Risks != nil,
		Edit: editForm{Findings: kc.Findings, ProposedResponse: kc.ProposedResponse, MitigationPlan: kc.MitigationPlan,
			Verdict: string(kc.Verdict), Version: kc.Version},
		Verdicts:      []string{"violation", "no_violation", "insufficient_evidence"},
		EvidenceKinds: caseEvidenceKinds,
		Form:          map[string]string{},
	}
	if d.CanEdit {
		for _, a := range cases.Actions {
			r := res
			r.Enforcement = string(a)
			if auth.Can(me, auth.ProposeEnforcement, r) {
				d.Proposable = append(d.Proposable, a)
			}
		}
	}
	for _, e := range kc.Enforcements {
		d.Enforcements = append(d.Enforcements, enfView{Enforcement: e, Decisions: kc.DecisionsFor(me, e, now)})
	}
	// The ladder's recommendation for each policy area: the same call as
	// GET /cases/{id}/enforcement/recommendation.
	for _, area := range kc.PolicyAreas {
		rec, err := u.d.Cases.Recommend(ctx, me, kc.ID, area)
		rv := recView{Area: area, Rec: rec}
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Code == errs.Internal {
				return casePageData{}, err
			}
			rv.Error = e.Message
		}
		d.Recs = append(d.Recs, rv)
	}
	if d.CanReadRisks {
		rs, err := u.d.Risks.ForCase(ctx, me, kc.ID, m)
		if err != nil && !errs.Is(err, errs.Forbidden) {
			return casePageData{}, err
		}
		d.Risks = rs
	}
	if u.d.Search != nil {
		sim, err := u.d.Search.Similar(ctx, me, search.TypeCase, kc.ID, 5)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return casePageData{}, err
		}
		d.Similar = rows(sim, now)
	}
	if u.d.Quality != nil {
		qa, err := u.d.Quality.CaseFeedback(ctx, me, kc.ID, m)
		if err != nil && !errs.Is(err, errs.Forbidden) {
			return casePageData{}, err
		}
		d.QA = qa
	}
	return d, nil
}

func caseTitle(kc cases.Case) string { return kc.Key + " · " + kc.Title }

func (u *ui) casePage(c *fiber.Ctx) error {
	d, err := u.caseData(c, c.Params("key"))
	if err != nil {
		return err
	}
	return u.page(c, "case", caseTitle(d.Case), "cases", d)
}

// caseRefused re-renders the case page after a refused post from form
// posted, with the fields it sent. Errors that are not the user's go up.
func (u *ui) caseRefused(c *fiber.Ctx, err error, posted string, fields ...string) error {
	d, derr := u.caseData(c, c.Params("key"))
	if derr != nil {
		return derr
	}
	d.Posted = posted
	for _, k := range fields {
		d.Form[k] = c.FormValue(k)
	}
	if posted == "edit" {
		d.Edit = editForm{Findings: c.FormValue("findings"), ProposedResponse: c.FormValue("proposed_response"),
			MitigationPlan: c.FormValue("mitigation_plan"), Verdict: c.FormValue("verdict"), Version: formVersion(c)}
	}
	return u.formError(c, flattenFields(err), "case", caseTitle(d.Case), "cases", d)
}

// flattenFields names field errors by their form field: "policy_areas[0]"
// is shown next to "policy_areas".
func flattenFields(err error) error {
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	cp := *e
	cp.Fields = make([]errs.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		if j := strings.IndexByte(f.Field, '['); j > 0 {
			f.Field = f.Field[:j]
		}
		cp.Fields[i] = f
	}
	return &cp
}

// formVersion is the hidden version of a form (0 when missing or bad,
// which the services treat as "no precondition"; every form here sends it).
func formVersion(c *fiber.Ctx) int64 {
	v, _ := strconv.ParseInt(c.FormValue("version"), 10, 64)
	return v
}

func (u *ui) caseURL(c *fiber.Ctx) string { return "/cases/" + url.PathEscape(c.Params("key")) }

// caseEdit saves findings, verdict, proposed response and mitigation plan
// at the version the form was read at (412 when someone changed it since).
func (u *ui) caseEdit(c *fiber.Ctx) error {
	version := formVersion(c)
	if version < 1 {
		return u.caseRefused(c, errs.E(errs.PreconditionFailed, "missing version"), "edit")
	}
	findings, resp, plan := c.FormValue("findings"), c.FormValue("proposed_response"), c.FormValue("mitigation_plan")
	verdict := cases.Verdict(c.FormValue("verdict"))
	p := cases.Patch{Findings: &findings, ProposedResponse: &resp, MitigationPlan: &plan, Verdict: &verdict}
	if _, err := u.d.Cases.Update(c.UserContext(), caller(c), c.Params("key"), version, p, u.g.meta(c)); err != nil {
		return u.caseRefused(c, err, "edit")
	}
	return u.redirect(c, u.caseURL(c), "Saved.")
}

// caseReassign is a lead's move of the case to a team, vendor or assignee.
func (u *ui) caseReassign(c *fiber.Ctx) error {
	team, vendor, assignee := strings.TrimSpace(c.FormValue("team")), strings.TrimSpace(c.FormValue("vendor")), strings.TrimSpace(c.FormValue("assignee"))
	p := cases.Patch{Team: &team, Vendor: &vendor, Assignee: &assignee}
	if _, err := u.d.Cases.Update(c.UserContext(), caller(c), c.Params("key"), formVersion(c), p, u.g.meta(c)); err != nil {
		return u.caseRefused(c, err, "reassign", "team", "vendor", "assignee")
	}
	return u.redirect(c, u.caseURL(c), "Reassigned.")
}

func (u *ui) caseTransition(c *fiber.Ctx) error {
	to := cases.Status(c.FormValue("to"))
	kc, err := u.d.Cases.Transition(c.UserContext(), caller(c), c.Params("key"), formVersion(c), to, c.FormValue("reason"), u.g.meta(c))
	if err != nil {
		return u.caseRefused(c, err, "transition", "reason")
	}
	return u.redirect(c, u.caseURL(c), "The case is now "+strings.ReplaceAll(string(kc.Status), "_", " ")+".")
}

func (u *ui) caseNote(c *fiber.Ctx) error {
	if _, err := u.d.Cases.AddNote(c.UserContext(), caller(c), c.Params("key"), c.FormValue("text"), u.g.meta(c)); err != nil {
		return u.caseRefused(c, err, "note", "text")
	}
	return u.redirect(c, u.caseURL(c)+"#timeline", "Note added.")
}

// caseEvidence adds evidence from the page's multipart form, with an
// optional file (the API's evidence route, with the form's CSRF field).
func (u *ui) caseEvidence(c *fiber.Ctx) error {
	fields := []string{"kind", "ref", "description", "flagged_reason", "captured_at"}
	in := cases.NewEvidence{Kind: c.FormValue("kind"), Ref: c.FormValue("ref"), Description: c.FormValue("description"),
		FlaggedReason: c.FormValue("flagged_reason")}
	var f errs.Fields
	if s := c.FormValue("captured_at"); s != "" {
		t, err := time.Parse("2006-01-02T15:04", s)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, s); err != nil {
				f.Add("captured_at", "must be a date and time")
			}
		}
		t = t.UTC()
		in.CapturedAt = &t
	}
	if fh, err := c.FormFile("file"); err == nil && (fh.Filename != "" || fh.Size > 0) {
		data, err := readPart(fh)
		if err != nil {
			return err
		}
		in.File = &cases.File{Name: fh.Filename, Data: data}
	}
	if err := f.Err(); err != nil {
		return u.caseRefused(c, err, "evidence", fields...)
	}
	ev, err := u.d.Cases.AddEvidence(c.UserContext(), caller(c), c.Params("key"), in, u.d.MaxAttachment, u.g.meta(c))
	if err != nil {
		return u.caseRefused(c, err, "evidence", fields...)
	}
	return u.redirect(c, u.caseURL(c)+"#evidence", "Evidence #"+strconv.Itoa(ev.N)+" added.")
}

func (u *ui) casePropose(c *fiber.Ctx) error {
	fields := []string{"action", "duration", "features", "policy_area", "reason", "justification"}
	p := cases.Proposal{Action: cases.Action(c.FormValue("action")), PolicyArea: c.FormValue("policy_area"),
		Reason: c.FormValue("reason"), Justification: c.FormValue("justification")}
	for _, s := range strings.Split(c.FormValue("features"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			p.Features = append(p.Features, s)
		}
	}
	if s := strings.TrimSpace(c.FormValue("duration")); s != "" {
		if err := p.Duration.UnmarshalText([]byte(s)); err != nil {
			return u.caseRefused(c, &errs.Error{Code: errs.Invalid, Message: "check the proposal",
				Fields: []errs.FieldError{{Field: "duration", Message: "must be a duration like 72h or 30d"}}}, "propose", fields...)
		}
	}
	e, err := u.d.Cases.Propose(c.UserContext(), caller(c), c.Params("key"), p, u.g.meta(c))
	if err != nil {
		return u.caseRefused(c, err, "propose", fields...)
	}
	msg := "Proposed " + strings.ReplaceAll(string(e.Action), "_", " ") + "."
	if e.Status == cases.Approved {
		msg += " It follows the recommendation and is approved; apply it when ready."
	} else {
		msg += " It waits for a lead's approval."
	}
	return u.redirect(c, u.caseURL(c)+"#enforcement", msg)
}

func (u *ui) caseDecide(c *fiber.Ctx) error {
	d := cases.Decision(c.Params("decision"))
	if !slices.Contains([]cases.Decision{cases.Approve, cases.Reject, cases.Apply, cases.Reverse}, d) {
		return errs.E(errs.NotFound, "no such step")
	}
	e, err := u.d.Cases.Decide(c.UserContext(), caller(c), c.Params("key"), c.Params("eid"), d, c.FormValue("reason"), u.g.meta(c))
	if err != nil {
		return u.caseRefused(c, err, "decide-"+c.Params("eid"), "reason")
	}
	return u.redirect(c, u.caseURL(c)+"#enforcement", "The "+strings.ReplaceAll(string(e.Action), "_", " ")+" is now "+string(e.Status)+".")
}

// caseLinkRisk links the case to a risk (the risk register's link).
func (u *ui) caseLinkRisk(c *fiber.Ctx) error {
	id := strings.TrimSpace(c.FormValue("risk_id"))
	if u.d.Risks == nil {
		return errs.E(errs.NotFound, "no risk register")
	}
	if id == "" {
		return u.caseRefused(c, &errs.Error{Code: errs.Invalid, Message: "name the risk",
			Fields: []errs.FieldError{{Field: "risk_id", Message: "is required"}}}, "risk", "risk_id")
	}
	r, err := u.d.Risks.Link(c.UserContext(), caller(c), id, risk.LinkTarget{CaseID: c.Params("key")}, 0, u.g.meta(c))
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			// An unknown risk is the user's typo; the case itself was read.
			err = &errs.Error{Code: errs.Invalid, Message: "no such risk",
				Fields: []errs.FieldError{{Field: "risk_id", Message: "is not a risk you can see"}}}
		}
		return u.caseRefused(c, err, "risk", "risk_id")
	}
	return u.redirect(c, u.caseURL(c)+"#risks", "Linked to "+r.Key+".")
}

// --- filing a case ---

type caseNewData struct {
	Form        map[string]string
	Areas       []string
	PolicyAreas []string
	Severities  []cases.Severity
	Channels    map[string][]string
	Kinds       []string
}

var caseSourceChannels = map[string][]string{
	"proactive": {"automated_detection", "proactive_sweep", "risk_discovery"},
	"reactive":  {"user_report", "internal_escalation", "regulator", "press", "partner"},
}

var caseNewFields = []string{"title", "summary", "actor_id", "actor_handle", "actor_display_name", "actor_kind", "actor_region",
	"severity", "source_kind", "source_channel", "team", "vendor", "assignee", "restricted", "tags", "idem"}

func (u *ui) caseNewData(c *fiber.Ctx) (caseNewData, error) {
	tax, _, err := u.d.Cases.Taxonomy(c.UserContext())
	if err != nil {
		return caseNewData{}, err
	}
	return caseNewData{Form: map[string]string{}, PolicyAreas: tax.PolicyAreas, Severities: cases.Severities,
		Channels: caseSourceChannels, Kinds: []string{"user", "creator", "merchant"}}, nil
}

func (u *ui) caseNewPage(c *fiber.Ctx) error {
	if !auth.Can(caller(c), auth.CreateCase, auth.Resource{}) {
		return errs.E(errs.Forbidden, "your role may not file cases")
	}
	d, err := u.caseNewData(c)
	if err != nil {
		return err
	}
	d.Form["idem"] = newFormNonce()
	d.Form["severity"] = string(cases.Sev3)
	return u.page(c, "case_new", "File a case", "cases", d)
}

// newFormNonce is the idempotency key of one filing form, so that a
// double submit files one case.
func newFormNonce() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

func (u *ui) caseCreate(c *fiber.Ctx) error {
	d, err := u.caseNewData(c)
	if err != nil {
		return err
	}
	for _, k := range caseNewFields {
		d.Form[k] = c.FormValue(k)
	}
	args := c.Context().PostArgs()
	var areas []string
	if mf, err := c.MultipartForm(); err == nil {
		areas = mf.Value["policy_areas"]
	} else {
		for _, v := range args.PeekMulti("policy_areas") {
			areas = append(areas, string(v))
		}
	}
	d.Areas = areas
	in := cases.NewCase{
		Title: c.FormValue("title"), Summary: c.FormValue("summary"),
		Actor: cases.ActorRef{ActorID: strings.TrimSpace(c.FormValue("actor_id")), Handle: c.FormValue("actor_handle"),
			DisplayName: c.FormValue("actor_display_name"), Kind: cases.ActorKind(c.FormValue("actor_kind")), Region: c.FormValue("actor_region")},
		PolicyAreas: areas, Severity: cases.Severity(c.FormValue("severity")),
		SourceKind: c.FormValue("source_kind"), SourceChannel: c.FormValue("source_channel"),
		Team: strings.TrimSpace(c.FormValue("team")), Vendor: strings.TrimSpace(c.FormValue("vendor")),
		Assignee: strings.TrimSpace(c.FormValue("assignee")), Restricted: c.FormValue("restricted") != "",
	}
	for _, s := range strings.Split(c.FormValue("tags"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			in.Tags = append(in.Tags, s)
		}
	}
	if in.SourceKind == "" {
		// One select names the channel; its kind follows from it.
		for kind, chans := range caseSourceChannels {
			if slices.Contains(chans, in.SourceChannel) {
				in.SourceKind = kind
			}
		}
	}
	idem := c.FormValue("idem")
	if len(idem) > 64 {
		idem = ""
	}
	kc, _, err := u.d.Cases.Create(c.UserContext(), caller(c), in, idem, u.g.meta(c))
	if err != nil {
		// "actor.actor_id" is the form's "actor_id", and so on.
		err = flattenFields(renameFields(err, func(s string) string { return strings.ReplaceAll(s, "actor.", "actor_") }))
		if d.Form["idem"] == "" || errs.Is(err, errs.Conflict) {
			d.Form["idem"] = newFormNonce()
		}
		return u.formError(c, err, "case_new", "File a case", "cases", d)
	}
	return u.redirect(c, "/cases/"+url.PathEscape(kc.Key), "Filed "+kc.Key+".")
}

func renameFields(err error, fn func(string) string) error {
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	cp := *e
	cp.Fields = make([]errs.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		f.Field = fn(f.Field)
		cp.Fields[i] = f
	}
	return &cp
}

// --- actors ---

func (u *ui) actorPage(c *fiber.Ctx) error {
	p, err := u.d.Cases.ActorProfile(c.UserContext(), caller(c), c.Params("actor_id"), u.g.meta(c))
	if err != nil {
		return err
	}
	title := "Actor " + p.Actor.ActorID
	return u.page(c, "actor", title, "cases", p)
}
