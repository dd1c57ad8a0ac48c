package web

import (
	"fmt"
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
)

// --- QA queue and review ---

// leadErrorType is one error type with its keyboard shortcut.
type leadErrorType struct{ Key, Value string }

func leadErrorTypes() []leadErrorType {
	out := make([]leadErrorType, len(quality.ErrorTypes))
	for i, et := range quality.ErrorTypes {
		out[i] = leadErrorType{Key: strconv.Itoa(i + 1), Value: et}
	}
	return out
}

type leadQueueData struct {
	Items                            []quality.Item
	Total                            int64
	Status, Vendor, Team, PolicyArea string
	Prev, Next                       string
}

const leadPageSize = 50

func (u *ui) leadQAQueue(c *fiber.Ctx) error {
	offset, _ := strconv.Atoi(c.Query("offset"))
	offset = max(0, offset)
	q := quality.QueueQuery{Status: c.Query("status"), Vendor: c.Query("vendor"), Team: c.Query("team"), PolicyArea: c.Query("policy_area"),
		Limit: leadPageSize, Offset: offset}
	items, total, err := u.d.Quality.Queue(c.UserContext(), caller(c), q)
	if err != nil {
		return err
	}
	data := leadQueueData{Items: items, Total: total, Status: q.Status, Vendor: q.Vendor, Team: q.Team, PolicyArea: q.PolicyArea}
	page := func(off int) string {
		v := url.Values{}
		for k, s := range map[string]string{"status": q.Status, "vendor": q.Vendor, "team": q.Team, "policy_area": q.PolicyArea} {
			if s != "" {
				v.Set(k, s)
			}
		}
		v.Set("offset", strconv.Itoa(off))
		return "/qa?" + v.Encode()
	}
	if offset > 0 {
		data.Prev = page(max(0, offset-leadPageSize))
	}
	if int64(offset+len(items)) < total {
		data.Next = page(offset + len(items))
	}
	return u.page(c, "qa", "QA queue", "qa", data)
}

type leadQAItemData struct {
	Packet     quality.Packet
	ErrorTypes []leadErrorType
	Severities []string
	Actions    []cases.Action
	Form       quality.NewReview
}

func (u *ui) leadQAData(c *fiber.Ctx, id string) (leadQAItemData, error) {
	p, err := u.d.Quality.Get(c.UserContext(), caller(c), id, u.g.meta(c))
	if err != nil {
		return leadQAItemData{}, err
	}
	return leadQAItemData{Packet: p, ErrorTypes: leadErrorTypes(), Severities: quality.Severities, Actions: cases.Actions}, nil
}

func (u *ui) leadQAItem(c *fiber.Ctx) error {
	data, err := u.leadQAData(c, leadParam(c, "id"))
	if err != nil {
		return err
	}
	return u.page(c, "qa_item", "Review "+data.Packet.Item.CaseKey, "qa", data)
}

func (u *ui) leadQAReview(c *fiber.Ctx) error {
	id := leadParam(c, "id")
	data, err := u.leadQAData(c, id)
	if err != nil {
		return err
	}
	in := quality.NewReview{DecisionID: id, Verdict: c.FormValue("verdict"), ErrorType: c.FormValue("error_type"),
		Severity: c.FormValue("severity"), Feedback: strings.TrimSpace(c.FormValue("feedback"))}
	if in.Verdict == quality.Agree {
		// An agreement has no error type or severity; a form that was
		// switched back to agree may still carry them.
		in.ErrorType, in.Severity = "", ""
	}
	data.Form = in
	if _, err := u.d.Quality.Review(c.UserContext(), caller(c), in, u.g.meta(c)); err != nil {
		return u.leadFail(c, err, "qa_item", "Review "+data.Packet.Item.CaseKey, "qa", data)
	}
	return u.redirect(c, "/qa/"+url.PathEscape(id), "Review recorded.")
}

func (u *ui) leadQACorrect(c *fiber.Ctx) error {
	id := leadParam(c, "id")
	data, err := u.leadQAData(c, id)
	if err != nil {
		return err
	}
	in := quality.NewCorrection{Kind: c.FormValue("kind"), Reason: strings.TrimSpace(c.FormValue("reason"))}
	if in.Kind == quality.CorrectPropose {
		in.Proposal = cases.Proposal{Action: cases.Action(c.FormValue("action")), PolicyArea: c.FormValue("policy_area"),
			Justification: strings.TrimSpace(c.FormValue("justification"))}
		if d := c.FormValue("duration"); d != "" {
			var dur cases.Duration
			if err := dur.UnmarshalText([]byte(d)); err != nil {
				return u.formError(c, &errs.Error{Code: errs.Invalid, Message: "check the duration",
					Fields: []errs.FieldError{{Field: "duration", Message: "is not a duration such as 30d"}}}, "qa_item", "Review", "qa", data)
			}
			in.Proposal.Duration = dur
		}
	}
	if _, err := u.d.Quality.Correct(c.UserContext(), caller(c), id, in, u.g.meta(c)); err != nil {
		return u.leadFail(c, err, "qa_item", "Review "+data.Packet.Item.CaseKey, "qa", data)
	}
	return u.redirect(c, "/qa/"+url.PathEscape(id), "Correction opened.")
}

// --- calibration ---

type leadCalibrationListData struct {
	Sets     []quality.CalibrationSet
	Reviewer bool
	Me       string
}

func (u *ui) leadCalibrationList(c *fiber.Ctx) error {
	usr := caller(c)
	sets, err := u.d.Quality.ListCalibrationSets(c.UserContext(), usr)
	if err != nil {
		return err
	}
	return u.page(c, "calibration", "Calibration sets", "qa",
		leadCalibrationListData{Sets: sets, Reviewer: auth.Can(usr, auth.ReviewQuality, auth.Resource{}), Me: usr.Username})
}

// leadCalibrationRows is how many reference cases the create form offers.
const leadCalibrationRows = 8

type leadCalibrationItemForm struct {
	Case, Verdict, Action, PolicyArea string
}

type leadCalibrationNewData struct {
	Name        string
	Rows        []leadCalibrationItemForm
	Verdicts    []cases.Verdict
	Actions     []cases.Action
	PolicyAreas []string
}

func (u *ui) leadCalibrationForm(c *fiber.Ctx) (leadCalibrationNewData, error) {
	if !auth.Can(caller(c), auth.ReviewQuality, auth.Resource{}) {
		return leadCalibrationNewData{}, errs.E(errs.Forbidden, "your role may not build calibration sets")
	}
	tax, _, err := u.d.Cases.Taxonomy(c.UserContext())
	if err != nil {
		return leadCalibrationNewData{}, err
	}
	return leadCalibrationNewData{Rows: make([]leadCalibrationItemForm, leadCalibrationRows),
		Verdicts: []cases.Verdict{cases.VerdictViolation, cases.VerdictNoViolation, cases.VerdictInsufficientEvidence},
		Actions:  cases.Actions, PolicyAreas: tax.PolicyAreas}, nil
}

func (u *ui) leadCalibrationNew(c *fiber.Ctx) error {
	data, err := u.leadCalibrationForm(c)
	if err != nil {
		return err
	}
	return u.page(c, "calibration_new", "New calibration set", "qa", data)
}

func (u *ui) leadCalibrationCreate(c *fiber.Ctx) error {
	data, err := u.leadCalibrationForm(c)
	if err != nil {
		return err
	}
	data.Name = c.FormValue("name")
	var items []quality.NewCalibrationItem
	for i := range data.Rows {
		p := fmt.Sprintf("items[%d].", i)
		r := leadCalibrationItemForm{Case: strings.TrimSpace(c.FormValue(p + "case")), Verdict: c.FormValue(p + "verdict"),
			Action: c.FormValue(p + "action"), PolicyArea: c.FormValue(p + "policy_area")}
		data.Rows[i] = r
		if r.Case == "" {
			continue
		}
		items = append(items, quality.NewCalibrationItem{Case: r.Case, Answer: toAnswer(r.Verdict, r.Action, r.PolicyArea)})
	}
	// Field errors name items by their place among the filled rows; the
	// form numbers every row, so the filled rows move up first.
	filled := slices.DeleteFunc(slices.Clone(data.Rows), func(r leadCalibrationItemForm) bool { return r.Case == "" })
	set, err := u.d.Quality.CreateCalibrationSet(c.UserContext(), caller(c), data.Name, items, u.g.meta(c))
	if err != nil {
		copy(data.Rows, filled)
		for i := len(filled); i < len(data.Rows); i++ {
			data.Rows[i] = leadCalibrationItemForm{}
		}
		return u.leadFail(c, err, "calibration_new", "New calibration set", "qa", data)
	}
	return u.redirect(c, "/qa/calibration/"+url.PathEscape(set.ID), "Calibration set created.")
}

type leadCalibrationData struct {
	Set         quality.CalibrationSet
	Reviewer    bool
	Mine        *quality.Assignment
	Verdicts    []cases.Verdict
	Actions     []cases.Action
	PolicyAreas []string
	Users       string
	Vendor      string
}

func (u *ui) leadCalibrationData(c *fiber.Ctx) (leadCalibrationData, error) {
	usr := caller(c)
	set, err := u.d.Quality.GetCalibrationSet(c.UserContext(), usr, leadParam(c, "id"))
	if err != nil {
		return leadCalibrationData{}, err
	}
	tax, _, err := u.d.Cases.Taxonomy(c.UserContext())
	if err != nil {
		return leadCalibrationData{}, err
	}
	d := leadCalibrationData{Set: set, Reviewer: auth.Can(usr, auth.ReviewQuality, auth.Resource{}),
		Verdicts: []cases.Verdict{cases.VerdictViolation, cases.VerdictNoViolation, cases.VerdictInsufficientEvidence},
		Actions:  cases.Actions, PolicyAreas: tax.PolicyAreas}
	for i := range set.Assignments {
		if set.Assignments[i].User == usr.Username {
			d.Mine = &set.Assignments[i]
		}
	}
	return d, nil
}

func (u *ui) leadCalibrationGet(c *fiber.Ctx) error {
	d, err := u.leadCalibrationData(c)
	if err != nil {
		return err
	}
	return u.page(c, "calibration_set", d.Set.Name, "qa", d)
}

func (u *ui) leadCalibrationAssign(c *fiber.Ctx) error {
	d, err := u.leadCalibrationData(c)
	if err != nil {
		return err
	}
	d.Users, d.Vendor = c.FormValue("users"), strings.TrimSpace(c.FormValue("vendor"))
	users := strings.FieldsFunc(d.Users, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	if _, err := u.d.Quality.AssignCalibrationSet(c.UserContext(), caller(c), d.Set.ID, users, d.Vendor, u.g.meta(c)); err != nil {
		return u.leadFail(c, err, "calibration_set", d.Set.Name, "qa", d)
	}
	return u.redirect(c, "/qa/calibration/"+url.PathEscape(d.Set.ID), "Assigned.")
}

func (u *ui) leadCalibrationAnswer(c *fiber.Ctx) error {
	d, err := u.leadCalibrationData(c)
	if err != nil {
		return err
	}
	answers := make([]quality.GivenAnswer, len(d.Set.Items))
	for i, it := range d.Set.Items {
		p := fmt.Sprintf("answers[%d].", i)
		answers[i] = quality.GivenAnswer{CaseID: it.CaseID, Answer: toAnswer(c.FormValue(p+"verdict"), c.FormValue(p+"action"), c.FormValue(p+"policy_area"))}
	}
	if _, err := u.d.Quality.SubmitCalibrationAnswers(c.UserContext(), caller(c), d.Set.ID, answers, u.g.meta(c)); err != nil {
		return u.leadFail(c, err, "calibration_set", d.Set.Name, "qa", d)
	}
	return u.redirect(c, "/qa/calibration/"+url.PathEscape(d.Set.ID), "Answers submitted.")
}

// --- scorecards ---

type leadScorecardData struct {
	By, Group, From, To string
	Groupings           []string
	Cards               []leadCard
	VendorAgent         bool
}

type leadCard struct {
	quality.Scorecard
	Trend template.HTML
}

func leadFormatInterval(v any) string {
	iv, _ := v.(*quality.Interval)
	if iv == nil {
		return "n/a (no reviews)"
	}
	return fmt.Sprintf("%.1f%% (95%% CI %.1f–%.1f%%)", 100*iv.Rate, 100*iv.Low, 100*iv.High)
}

func (u *ui) leadScorecards(c *fiber.Ctx) error {
	usr := caller(c)
	var f errs.Fields
	d := leadScorecardData{By: c.Query("by", "vendor"), Group: c.Query("group"), From: c.Query("from"), To: c.Query("to"),
		Groupings: []string{"vendor", "team", "agent", "policy_area"}, VendorAgent: usr.Role == auth.RoleVendorAgent}
	date := func(name, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			f.Add(name, "must be a date such as 2026-03-01")
		}
		return t
	}
	q := quality.ScorecardQuery{By: d.By, Group: d.Group, From: date("from", d.From), To: date("to", d.To)}
	if len(q.Group) > 64 {
		f.Add("group", "must be at most 64 characters")
	}
	if err := f.Err(); err != nil {
		return u.formError(c, err, "scorecards", "Scorecards", "scorecards", d)
	}
	if !q.To.IsZero() {
		q.To = q.To.AddDate(0, 0, 1) // the To date is included
	}
	cards, err := u.d.Quality.Scorecards(c.UserContext(), usr, q)
	if err != nil {
		return u.formError(c, err, "scorecards", "Scorecards", "scorecards", d)
	}
	if q.Group != "" && len(cards) == 1 && cards[0].Decisions == 0 && cards[0].Cases == 0 && usr.Vendor != q.Group {
		return errs.E(errs.NotFound, "scorecard not found")
	}
	for _, sc := range cards {
		labels, values := make([]string, len(sc.Trend)), make([]int, len(sc.Trend))
		for i, w := range sc.Trend {
			labels[i], values[i] = w.Start.UTC().Format("01-02"), w.Reviewed
		}
		d.Cards = append(d.Cards, leadCard{Scorecard: sc, Trend: leadBarChart("Reviews per week of "+sc.Group, labels, values)})
	}
	return u.page(c, "scorecards", "Scorecards", "scorecards", d)
}
