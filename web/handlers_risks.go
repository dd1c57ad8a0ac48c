package web

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/rca/risk"
)

// RiskService is the risk register; it checks the caller's rights itself.
type RiskService interface {
	Create(ctx context.Context, u *auth.User, in risk.NewRisk, m auth.Meta) (risk.Risk, error)
	Get(ctx context.Context, u *auth.User, id string, m auth.Meta) (risk.Risk, error)
	List(ctx context.Context, u *auth.User, q risk.Query, m auth.Meta) ([]risk.Summary, int, error)
	Update(ctx context.Context, u *auth.User, id string, ifMatch int64, p risk.Patch, m auth.Meta) (risk.Risk, error)
	Link(ctx context.Context, u *auth.User, id string, t risk.LinkTarget, ifMatch int64, m auth.Meta) (risk.Risk, error)
	UnlinkCase(ctx context.Context, u *auth.User, id, caseRef string, ifMatch int64, m auth.Meta) (risk.Risk, error)
	UnlinkIncident(ctx context.Context, u *auth.User, id, incidentRef string, ifMatch int64, m auth.Meta) (risk.Risk, error)
	AddChange(ctx context.Context, u *auth.User, id string, in risk.NewChange, ifMatch int64, m auth.Meta) (risk.Change, int64, error)
	UpdateChange(ctx context.Context, u *auth.User, id string, n int, ifMatch int64, p risk.ChangePatch, m auth.Meta) (risk.Change, int64, error)
	SeedRCA(ctx context.Context, u *auth.User, id string, sev rca.Severity, m auth.Meta) (risk.Seeded, error)
	ForCase(ctx context.Context, u *auth.User, caseRef string, m auth.Meta) ([]risk.Summary, error)
}

// riskGate refuses every risk route to a caller who may not read risks
// (vendor agents) before any body is read, so they get 403 whatever they
// send, and audits the refusal. The service checks again, per action.
func riskGate(g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := g.authorize(c, auth.ReadRisk, auth.Resource{}, auth.Entity{Type: "risk", ID: riskRef(c.Params("id"))}); err != nil {
			return err
		}
		return c.Next()
	}
}

// riskRef is a path id fit for an audit entry: a risk key, or nothing.
func riskRef(id string) string {
	if risk.IsKey(id) {
		return id
	}
	return ""
}

type riskRequest struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	PolicyAreas []string `json:"policy_areas"`
	Owner       string   `json:"owner"`
	Discovery   string   `json:"discovery"`
}

func handleRiskCreate(svc RiskService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req riskRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		r, err := svc.Create(c.UserContext(), caller(c), risk.NewRisk{Title: req.Title, Description: req.Description,
			PolicyAreas: req.PolicyAreas, Owner: req.Owner, Discovery: risk.Discovery(req.Discovery)}, g.meta(c))
		if err != nil {
			return err
		}
		c.Location("/api/v1/risks/" + url.PathEscape(r.Key))
		setETag(c, r.Version)
		return c.Status(fiber.StatusCreated).JSON(r)
	}
}

// handleRiskList is GET /risks: newest first, filtered by status,
// policy_area and owner (each a comma-separated list).
func handleRiskList(svc RiskService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f errs.Fields
		limit, offset := listPage(c, &f)
		q := risk.Query{Limit: limit, Offset: offset,
			PolicyAreas: filterValues(c, "policy_area", nil, &f), Owners: filterValues(c, "owner", nil, &f)}
		for _, s := range filterValues(c, "status", func(v string) bool { return risk.Status(v).Valid() }, &f) {
			q.Statuses = append(q.Statuses, risk.Status(s))
		}
		if err := f.Err(); err != nil {
			return err
		}
		items, total, err := svc.List(c.UserContext(), caller(c), q, g.meta(c))
		if err != nil {
			return err
		}
		return c.JSON(list[risk.Summary]{Items: nonNilItems(items), NextCursor: nextOffset(offset, len(items), total), Total: int64(total)})
	}
}

func handleRiskGet(svc RiskService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r, err := svc.Get(c.UserContext(), caller(c), c.Params("id"), g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, r.Version)
		return c.JSON(r)
	}
}

type riskPatchRequest struct {
	Title       *string   `json:"title"`
	Description *string   `json:"description"`
	PolicyAreas *[]string `json:"policy_areas"`
	Status      *string   `json:"status"`
	Owner       *string   `json:"owner"`
	Discovery   *string   `json:"discovery"`
}

func (req riskPatchRequest) toPatch() risk.Patch {
	p := risk.Patch{Title: req.Title, Description: req.Description, PolicyAreas: req.PolicyAreas, Owner: req.Owner}
	if req.Status != nil {
		s := risk.Status(*req.Status)
		p.Status = &s
	}
	if req.Discovery != nil {
		d := risk.Discovery(*req.Discovery)
		p.Discovery = &d
	}
	return p
}

func handleRiskPatch(svc RiskService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		version, err := ifMatch(c)
		if err != nil {
			return err
		}
		var req riskPatchRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		r, err := svc.Update(c.UserContext(), caller(c), c.Params("id"), version, req.toPatch(), g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, r.Version)
		return c.JSON(r)
	}
}

type linkRequest struct {
	CaseID     string `json:"case_id"`
	IncidentID string `json:"incident_id"`
}

func handleRiskLink(svc RiskService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		version, err := optionalIfMatch(c)
		if err != nil {
			return err
		}
		var req linkRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		r, err := svc.Link(c.UserContext(), caller(c), c.Params("id"), risk.LinkTarget{CaseID: req.CaseID, IncidentID: req.IncidentID}, version, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, r.Version)
		return c.JSON(r)
	}
}

// handleCaseRisks lists the risks a case is linked to (GET /cases/{id}/risks).
func handleCaseRisks(svc RiskService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := svc.ForCase(c.UserContext(), caller(c), c.Params("id"), g.meta(c))
		if err != nil {
			return err
		}
		return c.JSON(list[risk.Summary]{Items: nonNilItems(items), Total: int64(len(items))})
	}
}

type caseRiskRequest struct {
	RiskID string `json:"risk_id"`
}

// handleCaseRiskLink links the case to a risk from the case's side
// (POST /cases/{id}/risks {"risk_id": "RISK-2026-4"}); it is the same
// operation as POST /risks/{id}/links, and answers with the risk.
func handleCaseRiskLink(svc RiskService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req caseRiskRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.RiskID == "" {
			return &errs.Error{Code: errs.Invalid, Message: "name the risk", Fields: []errs.FieldError{{Field: "risk_id", Message: "is required"}}}
		}
		r, err := svc.Link(c.UserContext(), caller(c), req.RiskID, risk.LinkTarget{CaseID: c.Params("id")}, 0, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, r.Version)
		return c.JSON(r)
	}
}

func handleRiskUnlinkCase(svc RiskService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		version, err := optionalIfMatch(c)
		if err != nil {
			return err
		}
		r, err := svc.UnlinkCase(c.UserContext(), caller(c), c.Params("id"), c.Params("case"), version, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, r.Version)
		return c.JSON(r)
	}
}

func handleRiskUnlinkIncident(svc RiskService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		version, err := optionalIfMatch(c)
		if err != nil {
			return err
		}
		r, err := svc.UnlinkIncident(c.UserContext(), caller(c), c.Params("id"), c.Params("incident"), version, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, r.Version)
		return c.JSON(r)
	}
}

type changeRequest struct {
	Title    string     `json:"title"`
	Owner    string     `json:"owner"`
	Due      *time.Time `json:"due"`
	Category string     `json:"category"`
}

// handleRiskChangeCreate answers the new change; the ETag is the risk's
// new version, for the next edit of the risk.
func handleRiskChangeCreate(svc RiskService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		version, err := optionalIfMatch(c)
		if err != nil {
			return err
		}
		var req changeRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		ch, v, err := svc.AddChange(c.UserContext(), caller(c), c.Params("id"), risk.NewChange{Title: req.Title, Owner: req.Owner,
			Due: req.Due, Category: rca.Category(req.Category)}, version, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, v)
		return c.Status(fiber.StatusCreated).JSON(ch)
	}
}

type changePatchRequest struct {
	Status *string    `json:"status"`
	Owner  *string    `json:"owner"`
	Due    *time.Time `json:"due"`
}

func handleRiskChangePatch(svc RiskService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		version, err := ifMatch(c)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(c.Params("n"))
		if err != nil || n < 1 {
			return errs.E(errs.NotFound, "no such requested change")
		}
		var req changePatchRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := risk.ChangePatch{Owner: req.Owner, Due: req.Due}
		if req.Status != nil {
			s := rca.ActionItemStatus(*req.Status)
			p.Status = &s
		}
		ch, v, err := svc.UpdateChange(c.UserContext(), caller(c), c.Params("id"), n, version, p, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, v)
		return c.JSON(ch)
	}
}

type seedRequest struct {
	Severity string `json:"severity"`
}

// handleRiskSeedRCA is POST /risks/{id}/rca: 201 when it opened the
// incident, 200 when an earlier request had (it finishes what that one
// left undone). Location names the incident either way.
func handleRiskSeedRCA(svc RiskService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req seedRequest
		if len(c.Body()) > 0 {
			if err := decodeJSON(c, &req); err != nil {
				return err
			}
		}
		s, err := svc.SeedRCA(c.UserContext(), caller(c), c.Params("id"), rca.Severity(req.Severity), g.meta(c))
		if err != nil {
			return err
		}
		c.Location("/api/v1/incidents/" + url.PathEscape(s.IncidentKey))
		status := fiber.StatusOK
		if s.Created {
			status = fiber.StatusCreated
		}
		return c.Status(status).JSON(s)
	}
}
