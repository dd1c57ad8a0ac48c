package web

import (
	"context"
	"io"
	"mime/multipart"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
)

// CaseService is the case workflow.
type CaseService interface {
	Create(ctx context.Context, u *auth.User, in cases.NewCase, idemKey string, m auth.Meta) (cases.Case, bool, error)
	Get(ctx context.Context, u *auth.User, idOrKey string, m auth.Meta) (cases.Case, error)
	Update(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, p cases.Patch, m auth.Meta) (cases.Case, error)
	Transition(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, to cases.Status, reason string, m auth.Meta) (cases.Case, error)
	AddNote(ctx context.Context, u *auth.User, idOrKey, text string, m auth.Meta) (cases.TimelineEntry, error)
	Timeline(ctx context.Context, u *auth.User, idOrKey string, from, limit int) ([]cases.TimelineEntry, int, error)
	AddEvidence(ctx context.Context, u *auth.User, idOrKey string, in cases.NewEvidence, maxFile int64, m auth.Meta) (cases.Evidence, error)
	EvidenceFile(ctx context.Context, u *auth.User, idOrKey string, n int, m auth.Meta, prepare func(cases.Evidence) io.Writer) error
	Recommend(ctx context.Context, u *auth.User, idOrKey, area string) (cases.Recommendation, error)
	Propose(ctx context.Context, u *auth.User, idOrKey string, p cases.Proposal, m auth.Meta) (cases.Enforcement, error)
	Decide(ctx context.Context, u *auth.User, idOrKey, eid string, d cases.Decision, reason string, m auth.Meta) (cases.Enforcement, error)
	ActorProfile(ctx context.Context, u *auth.User, actorID string, m auth.Meta) (cases.Profile, error)
	Taxonomy(ctx context.Context) (cases.Taxonomy, int64, error)
	SetTaxonomy(ctx context.Context, u *auth.User, t cases.Taxonomy, ifMatch int64, m auth.Meta) (cases.Taxonomy, int64, error)
	// Exports (handlers_export.go).
	ExportMarkdown(ctx context.Context, u *auth.User, idOrKey, format string, m auth.Meta) (cases.Export, error)
	Enforcements(ctx context.Context, u *auth.User, idx cases.DecisionIndex, q cases.EnforcementQuery, m auth.Meta) (cases.EnforcementPage, error)
	EnforcementReport(ctx context.Context, u *auth.User, idx cases.DecisionIndex, from, to time.Time) (cases.EnforcementReport, error)
}

type caseCreateRequest struct {
	Title         string         `json:"title"`
	Summary       string         `json:"summary"`
	Actor         cases.ActorRef `json:"actor"`
	RelatedActors []string       `json:"related_actors"`
	PolicyAreas   []string       `json:"policy_areas"`
	Severity      string         `json:"severity"`
	SourceKind    string         `json:"source_kind"`
	SourceChannel string         `json:"source_channel"`
	Team          string         `json:"team"`
	Vendor        string         `json:"vendor"`
	Assignee      string         `json:"assignee"`
	Restricted    bool           `json:"restricted"`
	Tags          []string       `json:"tags"`
}

func (r caseCreateRequest) toNewCase() cases.NewCase {
	return cases.NewCase{Title: r.Title, Summary: r.Summary, Actor: r.Actor, RelatedActors: r.RelatedActors, PolicyAreas: r.PolicyAreas,
		Severity: cases.Severity(r.Severity), SourceKind: r.SourceKind, SourceChannel: r.SourceChannel, Team: r.Team, Vendor: r.Vendor,
		Assignee: r.Assignee, Restricted: r.Restricted, Tags: r.Tags}
}

// casePatchRequest lists what a client may change; status, enforcements,
// evidence, key, version and timestamps have their own routes or none.
type casePatchRequest struct {
	Title            *string           `json:"title"`
	Summary          *string           `json:"summary"`
	PolicyAreas      *[]string         `json:"policy_areas"`
	Severity         *string           `json:"severity"`
	SourceKind       *string           `json:"source_kind"`
	SourceChannel    *string           `json:"source_channel"`
	Team             *string           `json:"team"`
	Vendor           *string           `json:"vendor"`
	Assignee         *string           `json:"assignee"`
	Restricted       *bool             `json:"restricted"`
	Findings         *string           `json:"findings"`
	Verdict          *string           `json:"verdict"`
	ProposedResponse *string           `json:"proposed_response"`
	MitigationPlan   *string           `json:"mitigation_plan"`
	Behaviors        *[]cases.Behavior `json:"behaviors"`
	RelatedActors    *[]string         `json:"related_actors"`
	Tags             *[]string         `json:"tags"`
	LinkedCases      *[]string         `json:"linked_cases"`
	LinkedIncidents  *[]string         `json:"linked_incidents"`
}

func (r casePatchRequest) toPatch() cases.Patch {
	p := cases.Patch{Title: r.Title, Summary: r.Summary, PolicyAreas: r.PolicyAreas, SourceKind: r.SourceKind, SourceChannel: r.SourceChannel,
		Team: r.Team, Vendor: r.Vendor, Assignee: r.Assignee, Restricted: r.Restricted, Findings: r.Findings,
		ProposedResponse: r.ProposedResponse, MitigationPlan: r.MitigationPlan, Behaviors: r.Behaviors, RelatedActors: r.RelatedActors,
		Tags: r.Tags, LinkedCases: r.LinkedCases, LinkedIncidents: r.LinkedIncidents}
	if r.Severity != nil {
		s := cases.Severity(*r.Severity)
		p.Severity = &s
	}
	if r.Verdict != nil {
		v := cases.Verdict(*r.Verdict)
		p.Verdict = &v
	}
	return p
}

func handleCaseCreate(svc CaseService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req caseCreateRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		kc, created, err := svc.Create(c.UserContext(), caller(c), req.toNewCase(), c.Get("Idempotency-Key"), g.meta(c))
		if err != nil {
			return err
		}
		c.Location("/api/v1/cases/" + url.PathEscape(kc.Key))
		setETag(c, kc.Version)
		status := fiber.StatusCreated
		if !created {
			status = fiber.StatusOK // a retried create: the first result
		}
		return c.Status(status).JSON(kc)
	}
}

func handleCaseGet(svc CaseService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		kc, err := svc.Get(c.UserContext(), caller(c), c.Params("id"), g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, kc.Version)
		return c.JSON(kc)
	}
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func handleCasePatch(svc CaseService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		version, err := ifMatch(c)
		if err != nil {
			return err
		}
		var req casePatchRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		kc, err := svc.Update(c.UserContext(), caller(c), c.Params("id"), version, req.toPatch(), g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, kc.Version)
		return c.JSON(kc)
	}
}

// optionalIfMatch reads If-Match when sent (0 when not).
func optionalIfMatch(c *fiber.Ctx) (int64, error) {
	if c.Get(fiber.HeaderIfMatch) == "" {
		return 0, nil
	}
	return ifMatch(c)
}

type transitionRequest struct {
	To     string `json:"to"`
	Reason string `json:"reason"`
}

func handleCaseTransition(svc CaseService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		version, err := optionalIfMatch(c)
		if err != nil {
			return err
		}
		var req transitionRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		kc, err := svc.Transition(c.UserContext(), caller(c), c.Params("id"), version, cases.Status(req.To), req.Reason, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, kc.Version)
		return c.JSON(kc)
	}
}

type noteRequest struct {
	Text string `json:"text"`
}

func handleCaseNote(svc CaseService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req noteRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		note, err := svc.AddNote(c.UserContext(), caller(c), c.Params("id"), req.Text, g.meta(c))
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(note)
	}
}

func handleCaseTimeline(svc CaseService) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f errs.Fields
		limit, cursor := pageParams(c, &f)
		from := 0
		if cursor != "" {
			n, err := strconv.Atoi(cursor)
			if err != nil || n < 0 {
				f.Add("cursor", "is not a cursor this server issued")
			}
			from = n
		}
		if err := f.Err(); err != nil {
			return err
		}
		entries, count, err := svc.Timeline(c.UserContext(), caller(c), c.Params("id"), from, limit)
		if err != nil {
			return err
		}
		next := ""
		if from+limit < count {
			next = strconv.Itoa(from + limit)
		}
		return c.JSON(list[cases.TimelineEntry]{Items: entries, NextCursor: next, Total: int64(count)})
	}
}

type evidenceRequest struct {
	Kind          string     `json:"kind"`
	Ref           string     `json:"ref"`
	Description   string     `json:"description"`
	FlaggedReason string     `json:"flagged_reason"`
	CapturedAt    *time.Time `json:"captured_at"`
	Retracts      int        `json:"retracts"`
}

// evidenceFormFields are the only fields a multipart evidence upload takes.
var evidenceFormFields = []string{"kind", "ref", "description", "flagged_reason", "captured_at", "retracts"}

func handleCaseEvidence(svc CaseService, g guard, maxFile int64) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in cases.NewEvidence
		if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEMultipartForm) {
			var err error
			if in, err = evidenceFromForm(c); err != nil {
				return err
			}
		} else {
			var req evidenceRequest
			if err := decodeJSON(c, &req); err != nil {
				return err
			}
			in = cases.NewEvidence{Kind: req.Kind, Ref: req.Ref, Description: req.Description, FlaggedReason: req.FlaggedReason, CapturedAt: req.CapturedAt, Retracts: req.Retracts}
		}
		ev, err := svc.AddEvidence(c.UserContext(), caller(c), c.Params("id"), in, maxFile, g.meta(c))
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(ev)
	}
}

func evidenceFromForm(c *fiber.Ctx) (cases.NewEvidence, error) {
	form, err := c.MultipartForm()
	if err != nil {
		return cases.NewEvidence{}, errs.E(errs.Invalid, "malformed multipart body")
	}
	var f errs.Fields
	get := func(k string) string {
		if v := form.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	for k, v := range form.Value {
		if !slices.Contains(evidenceFormFields, k) || len(v) > 1 {
			f.Add(k, "is not a field of this request (or is repeated)")
		}
	}
	in := cases.NewEvidence{Kind: get("kind"), Ref: get("ref"), Description: get("description"), FlaggedReason: get("flagged_reason")}
	if s := get("captured_at"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			f.Add("captured_at", "must be an RFC 3339 time")
		}
		in.CapturedAt = &t
	}
	if s := get("retracts"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			f.Add("retracts", "must be an evidence number")
		}
		in.Retracts = n
	}
	for k := range form.File {
		if k != "file" {
			f.Add(k, "is not a file field of this request; use \"file\"")
		}
	}
	if files := form.File["file"]; len(files) == 1 {
		data, err := readPart(files[0])
		if err != nil {
			return cases.NewEvidence{}, err
		}
		in.File = &cases.File{Name: files[0].Filename, Data: data}
	} else if len(files) > 1 {
		f.Add("file", "send one file per evidence entry")
	}
	return in, f.Err()
}

func readPart(fh *multipart.FileHeader) ([]byte, error) {
	r, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func handleEvidenceFile(svc CaseService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		n, err := strconv.Atoi(c.Params("n"))
		if err != nil || n < 1 {
			return errs.E(errs.NotFound, "no such evidence")
		}
		return svc.EvidenceFile(c.UserContext(), caller(c), c.Params("id"), n, g.meta(c), func(ev cases.Evidence) io.Writer {
			// The stored type was sniffed from the bytes; nosniff (set for
			// every response) and attachment keep browsers from running it.
			c.Set(fiber.HeaderContentType, ev.Attachment.ContentType)
			c.Set(fiber.HeaderContentDisposition, `attachment; filename*=UTF-8''`+url.PathEscape(ev.Attachment.FileName))
			c.Set("X-Content-SHA256", ev.SHA256)
			return c.Response().BodyWriter()
		})
	}
}

func handleRecommendation(svc CaseService) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r, err := svc.Recommend(c.UserContext(), caller(c), c.Params("id"), c.Query("policy_area"))
		if err != nil {
			return err
		}
		return c.JSON(r)
	}
}

type proposalRequest struct {
	Action        string         `json:"action"`
	Duration      cases.Duration `json:"duration"`
	Features      []string       `json:"features"`
	PolicyArea    string         `json:"policy_area"`
	Reason        string         `json:"reason"`
	Justification string         `json:"justification"`
}

func handleEnforcementPropose(svc CaseService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req proposalRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		e, err := svc.Propose(c.UserContext(), caller(c), c.Params("id"), cases.Proposal{Action: cases.Action(req.Action), Duration: req.Duration,
			Features: req.Features, PolicyArea: req.PolicyArea, Reason: req.Reason, Justification: req.Justification}, g.meta(c))
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(e)
	}
}

type decisionRequest struct {
	Reason string `json:"reason"`
}

func handleEnforcementDecide(svc CaseService, g guard, d cases.Decision) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req decisionRequest
		if len(c.Body()) > 0 {
			if err := decodeJSON(c, &req); err != nil {
				return err
			}
		}
		e, err := svc.Decide(c.UserContext(), caller(c), c.Params("id"), c.Params("eid"), d, req.Reason, g.meta(c))
		if err != nil {
			return err
		}
		return c.JSON(e)
	}
}

func handleActorProfile(svc CaseService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := svc.ActorProfile(c.UserContext(), caller(c), c.Params("actor_id"), g.meta(c))
		if err != nil {
			return err
		}
		return c.JSON(p)
	}
}

func handleTaxonomyGet(svc CaseService) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, v, err := svc.Taxonomy(c.UserContext())
		if err != nil {
			return err
		}
		setETag(c, v)
		return c.JSON(t)
	}
}

func handleTaxonomyPut(svc CaseService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := g.authorize(c, auth.WriteTaxonomy, auth.Resource{}, auth.Entity{Type: "taxonomy"}); err != nil {
			return err
		}
		version, err := ifMatch(c)
		if err != nil {
			return err
		}
		var t cases.Taxonomy
		if err := decodeJSON(c, &t); err != nil {
			return err
		}
		t, v, err := svc.SetTaxonomy(c.UserContext(), caller(c), t, version, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, v)
		return c.JSON(t)
	}
}
