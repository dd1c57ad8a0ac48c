package web

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/rca"
)

// RCAService runs incidents, RCAs, action items and postmortems.
type RCAService interface {
	CreateIncident(ctx context.Context, u *auth.User, in rca.NewIncident, m auth.Meta) (rca.Incident, error)
	GetIncident(ctx context.Context, u *auth.User, idOrKey string) (rca.Incident, error)
	ListIncidents(ctx context.Context, u *auth.User, q rca.IncidentQuery) ([]rca.Incident, int, error)
	UpdateIncident(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, p rca.IncidentPatch, m auth.Meta) (rca.Incident, error)
	PutRCA(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, r rca.RCA, m auth.Meta) (rca.Incident, error)
	AddActionItem(ctx context.Context, u *auth.User, idOrKey string, in rca.NewActionItem, m auth.Meta) (rca.ActionItem, error)
	UpdateActionItem(ctx context.Context, u *auth.User, idOrKey string, n int, ifMatch int64, p rca.ActionItemPatch, m auth.Meta) (rca.ActionItem, error)
	Classify(ctx context.Context, u *auth.User, text string) (rca.Suggestion, error)
	ClassifierStats(ctx context.Context, u *auth.User) (rca.ClassifierReport, error)
	GetPostmortem(ctx context.Context, u *auth.User, idOrKey string) (rca.Postmortem, error)
	PutPostmortem(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, c rca.Content, m auth.Meta) (rca.Postmortem, bool, error)
	Step(ctx context.Context, u *auth.User, idOrKey string, step rca.PostmortemStep, acknowledgePII bool, m auth.Meta) (rca.PublishResult, error)
	Comment(ctx context.Context, u *auth.User, idOrKey, text string, m auth.Meta) (rca.Comment, error)
	GetPublished(ctx context.Context, u *auth.User, idOrKey string, rev int) (rca.PublishedPostmortem, error)
	Reading(ctx context.Context, u *auth.User, idOrKey string) (rca.Reading, error)
	ExportMarkdown(ctx context.Context, u *auth.User, idOrKey string) (string, error)
	ExportReading(ctx context.Context, u *auth.User, idOrKey, format string, m auth.Meta) (rca.Export, error)
	RootCauses(ctx context.Context, u *auth.User, from, to time.Time, interval string) (rca.RootCauseReport, error)
}

type incidentRequest struct {
	Kind        string      `json:"kind"`
	Title       string      `json:"title"`
	Severity    string      `json:"severity"`
	Status      string      `json:"status"`
	StartedAt   time.Time   `json:"started_at"`
	DetectedAt  *time.Time  `json:"detected_at"`
	MitigatedAt *time.Time  `json:"mitigated_at"`
	ResolvedAt  *time.Time  `json:"resolved_at"`
	Detection   string      `json:"detection"`
	Impact      *rca.Impact `json:"impact"`
	Owner       string      `json:"owner"`
	LinkedCases []string    `json:"linked_cases"`
}

func handleIncidentCreate(svc RCAService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req incidentRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		in := rca.NewIncident{Kind: rca.Kind(req.Kind), Title: req.Title, Severity: rca.Severity(req.Severity), Status: rca.Status(req.Status),
			StartedAt: req.StartedAt, DetectedAt: req.DetectedAt, MitigatedAt: req.MitigatedAt, ResolvedAt: req.ResolvedAt,
			Detection: req.Detection, Owner: req.Owner, LinkedCases: req.LinkedCases}
		if req.Impact != nil {
			in.Impact = *req.Impact
		}
		inc, err := svc.CreateIncident(c.UserContext(), caller(c), in, g.meta(c))
		if err != nil {
			return err
		}
		c.Location("/api/v1/incidents/" + url.PathEscape(inc.Key))
		setETag(c, inc.Version)
		return c.Status(fiber.StatusCreated).JSON(inc)
	}
}

func handleIncidentGet(svc RCAService) fiber.Handler {
	return func(c *fiber.Ctx) error {
		inc, err := svc.GetIncident(c.UserContext(), caller(c), c.Params("id"))
		if err != nil {
			return err
		}
		setETag(c, inc.Version)
		return c.JSON(inc)
	}
}

// incidentSummaries lists incidents as summaries from the store, for
// readers (leadership) who may not see what the index holds.
func incidentSummaries(svc RCAService) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f errs.Fields
		limit, cursor := pageParams(c, &f)
		q := rca.IncidentQuery{From: timeParam(c, "from", &f), To: timeParam(c, "to", &f), Text: c.Query("q"),
			RootCauseCategory: rca.Category(c.Query("root_cause_category")), Limit: limit}
		for _, s := range splitList(c.Query("status")) {
			if s != string(rca.Investigating) && s != string(rca.Mitigated) && s != string(rca.Resolved) {
				f.Add("status", "%q is not a status", s)
			}
			q.Statuses = append(q.Statuses, rca.Status(s))
		}
		for _, s := range splitList(c.Query("severity")) {
			if !rca.Severity(s).Valid() {
				f.Add("severity", "%q is not a severity", s)
			}
			q.Severities = append(q.Severities, rca.Severity(s))
		}
		if q.RootCauseCategory != "" && !q.RootCauseCategory.Valid() {
			f.Add("root_cause_category", "must be product, process or policy")
		}
		if len(q.Text) > 200 {
			f.Add("q", "must be at most 200 characters")
		}
		q.Offset = offsetCursor(cursor, &f)
		if err := f.Err(); err != nil {
			return err
		}
		items, total, err := svc.ListIncidents(c.UserContext(), caller(c), q)
		if err != nil {
			return err
		}
		return c.JSON(list[rca.Incident]{Items: nonNilItems(items), NextCursor: nextOffset(q.Offset, len(items), total), Total: int64(total)})
	}
}

// offsetCursor reads an opaque offset cursor issued by nextOffset.
func offsetCursor(cursor string, f *errs.Fields) int {
	if cursor == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimPrefix(cursor, "o"))
	if err != nil || n < 0 || !strings.HasPrefix(cursor, "o") {
		f.Add("cursor", "is not a cursor this server issued")
		return 0
	}
	return n
}

func nextOffset(offset, got, total int) string {
	if offset+got >= total {
		return ""
	}
	return "o" + strconv.Itoa(offset+got)
}

func nonNilItems[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type incidentPatchRequest struct {
	Title       *string     `json:"title"`
	Severity    *string     `json:"severity"`
	Status      *string     `json:"status"`
	StartedAt   *time.Time  `json:"started_at"`
	DetectedAt  *time.Time  `json:"detected_at"`
	MitigatedAt *time.Time  `json:"mitigated_at"`
	ResolvedAt  *time.Time  `json:"resolved_at"`
	Detection   *string     `json:"detection"`
	Impact      *rca.Impact `json:"impact"`
	Owner       *string     `json:"owner"`
	LinkedCases *[]string   `json:"linked_cases"`
}

func handleIncidentPatch(svc RCAService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		version, err := ifMatch(c)
		if err != nil {
			return err
		}
		var req incidentPatchRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := rca.IncidentPatch{Title: req.Title, StartedAt: req.StartedAt, DetectedAt: req.DetectedAt, MitigatedAt: req.MitigatedAt,
			ResolvedAt: req.ResolvedAt, Detection: req.Detection, Impact: req.Impact, Owner: req.Owner, LinkedCases: req.LinkedCases}
		if req.Severity != nil {
			s := rca.Severity(*req.Severity)
			p.Severity = &s
		}
		if req.Status != nil {
			s := rca.Status(*req.Status)
			p.Status = &s
		}
		inc, err := svc.UpdateIncident(c.UserContext(), caller(c), c.Params("id"), version, p, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, inc.Version)
		return c.JSON(inc)
	}
}

type rootCauseRequest struct {
	Description string   `json:"description"`
	Category    string   `json:"category"`
	Subcategory string   `json:"subcategory"`
	Vendor      string   `json:"vendor"`
	FiveWhys    []string `json:"five_whys"`
}

type rcaRequest struct {
	ProblemStatement    string              `json:"problem_statement"`
	RootCauses          []rootCauseRequest  `json:"root_causes"`
	ContributingFactors []string            `json:"contributing_factors"`
	MitigationGaps      []rca.MitigationGap `json:"mitigation_gaps"`
}

func handleRCAPut(svc RCAService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		version, err := optionalIfMatch(c)
		if err != nil {
			return err
		}
		var req rcaRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		r := rca.RCA{ProblemStatement: req.ProblemStatement, ContributingFactors: req.ContributingFactors, MitigationGaps: req.MitigationGaps}
		for _, rc := range req.RootCauses {
			r.RootCauses = append(r.RootCauses, rca.RootCause{Description: rc.Description, Category: rca.Category(rc.Category),
				Subcategory: rc.Subcategory, Vendor: rc.Vendor, FiveWhys: rc.FiveWhys})
		}
		inc, err := svc.PutRCA(c.UserContext(), caller(c), c.Params("id"), version, r, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, inc.Version)
		return c.JSON(inc)
	}
}

type actionItemRequest struct {
	Title     string     `json:"title"`
	Owner     string     `json:"owner"`
	Due       *time.Time `json:"due"`
	Kind      string     `json:"kind"`
	RootCause *int       `json:"root_cause"`
}

func handleActionItemCreate(svc RCAService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req actionItemRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		a, err := svc.AddActionItem(c.UserContext(), caller(c), c.Params("id"), rca.NewActionItem{Title: req.Title, Owner: req.Owner,
			Due: req.Due, Kind: req.Kind, RootCause: req.RootCause}, g.meta(c))
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(a)
	}
}

type actionItemPatchRequest struct {
	Title     *string    `json:"title"`
	Owner     *string    `json:"owner"`
	Due       *time.Time `json:"due"`
	Status    *string    `json:"status"`
	Kind      *string    `json:"kind"`
	RootCause *int       `json:"root_cause"`
}

func handleActionItemPatch(svc RCAService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		// A PATCH: If-Match (the incident's ETag) is required.
		version, err := ifMatch(c)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(c.Params("n"))
		if err != nil || n < 1 {
			return errs.E(errs.NotFound, "no such action item")
		}
		var req actionItemPatchRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := rca.ActionItemPatch{Title: req.Title, Owner: req.Owner, Due: req.Due, Kind: req.Kind, RootCause: req.RootCause}
		if req.Status != nil {
			s := rca.ActionItemStatus(*req.Status)
			p.Status = &s
		}
		a, err := svc.UpdateActionItem(c.UserContext(), caller(c), c.Params("id"), n, version, p, g.meta(c))
		if err != nil {
			return err
		}
		return c.JSON(a)
	}
}

type classifyRequest struct {
	Text string `json:"text"`
}

func handleClassify(svc RCAService) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req classifyRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		s, err := svc.Classify(c.UserContext(), caller(c), req.Text)
		if err != nil {
			return err
		}
		return c.JSON(s)
	}
}

func handleClassifierStats(svc RCAService) fiber.Handler {
	return func(c *fiber.Ctx) error {
		s, err := svc.ClassifierStats(c.UserContext(), caller(c))
		if err != nil {
			return err
		}
		return c.JSON(s)
	}
}

func handlePostmortemGet(svc RCAService) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := svc.GetPostmortem(c.UserContext(), caller(c), c.Params("id"))
		if err != nil {
			return err
		}
		setETag(c, p.Version)
		return c.JSON(p)
	}
}

type postmortemRequest struct {
	Summary         string             `json:"summary"`
	Impact          string             `json:"impact"`
	Timeline        []rca.TimelineItem `json:"timeline"`
	Detection       string             `json:"detection"`
	Response        string             `json:"response"`
	WhatWentWell    string             `json:"what_went_well"`
	WhatWentWrong   string             `json:"what_went_wrong"`
	WhereWeGotLucky string             `json:"where_we_got_lucky"`
	Lessons         string             `json:"lessons"`
	Body            string             `json:"body"`
}

func handlePostmortemPut(svc RCAService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		version, err := optionalIfMatch(c)
		if err != nil {
			return err
		}
		var req postmortemRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p, created, err := svc.PutPostmortem(c.UserContext(), caller(c), c.Params("id"), version, rca.Content(req), g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, p.Version)
		if created {
			c.Location("/api/v1/incidents/" + url.PathEscape(p.IncidentKey) + "/postmortem")
			return c.Status(fiber.StatusCreated).JSON(p)
		}
		return c.JSON(p)
	}
}

type publishRequest struct {
	AcknowledgePII bool `json:"acknowledge_pii"`
}

func handlePostmortemStep(svc RCAService, g guard, step rca.PostmortemStep) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req publishRequest
		if len(c.Body()) > 0 {
			if err := decodeJSON(c, &req); err != nil {
				return err
			}
		}
		if req.AcknowledgePII && step != rca.Publish {
			return &errs.Error{Code: errs.Invalid, Message: "acknowledge_pii is for publish", Fields: []errs.FieldError{{Field: "acknowledge_pii", Message: "is only accepted when publishing"}}}
		}
		res, err := svc.Step(c.UserContext(), caller(c), c.Params("id"), step, req.AcknowledgePII, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, res.Postmortem.Version)
		return c.JSON(res)
	}
}

type commentRequest struct {
	Text string `json:"text"`
}

func handlePostmortemComment(svc RCAService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req commentRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		cm, err := svc.Comment(c.UserContext(), caller(c), c.Params("id"), req.Text, g.meta(c))
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(cm)
	}
}

// handlePublishedGet serves /postmortems/{id}; the .md and .pdf exports
// have their own routes (handlePostmortemExport).
func handlePublishedGet(svc RCAService) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Params("id")
		rev := 0
		if s := c.Query("revision"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return &errs.Error{Code: errs.Invalid, Message: "bad revision", Fields: []errs.FieldError{{Field: "revision", Message: "must be a revision number"}}}
			}
			rev = n
		}
		p, err := svc.GetPublished(c.UserContext(), caller(c), id, rev)
		if err != nil {
			return err
		}
		return c.JSON(p)
	}
}

func handleRootCauseReport(svc RCAService) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f errs.Fields
		from, to := timeParam(c, "from", &f), timeParam(c, "to", &f)
		interval := c.Query("interval")
		if interval != "" && !slices.Contains(rca.Intervals, interval) {
			f.Add("interval", "must be week, month or quarter")
		}
		if err := f.Err(); err != nil {
			return err
		}
		rep, err := svc.RootCauses(c.UserContext(), caller(c), from, to, interval)
		if err != nil {
			return err
		}
		return c.JSON(rep)
	}
}
