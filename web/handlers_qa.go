package web

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/errs"
)

func handleQARulesGet(svc *quality.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r, err := svc.Rules(c.UserContext(), caller(c))
		if err != nil {
			return err
		}
		setETag(c, r.Version)
		return c.JSON(r)
	}
}

type qaRulesRequest struct {
	Seed            string         `json:"seed"`
	Rules           []quality.Rule `json:"rules"`
	AlertDrop       float64        `json:"alert_drop"`
	AlertMinReviews int            `json:"alert_min_reviews"`
}

func handleQARulesPut(svc *quality.Service, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		version, err := ifMatch(c)
		if err != nil {
			return err
		}
		var req qaRulesRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		r, err := svc.PutRules(c.UserContext(), caller(c), version,
			quality.Rules{Seed: req.Seed, Rules: req.Rules, AlertDrop: req.AlertDrop, AlertMinReviews: req.AlertMinReviews}, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, r.Version)
		return c.JSON(r)
	}
}

func handleQAQueue(svc *quality.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f errs.Fields
		limit, cursor := pageParams(c, &f)
		q := quality.QueueQuery{Status: c.Query("status"), Vendor: c.Query("vendor"), Team: c.Query("team"),
			PolicyArea: c.Query("policy_area"), Limit: limit, Offset: offsetCursor(cursor, &f)}
		if err := f.Err(); err != nil {
			return err
		}
		items, total, err := svc.Queue(c.UserContext(), caller(c), q)
		if err != nil {
			return err
		}
		return c.JSON(list[quality.Item]{Items: nonNilItems(items), NextCursor: nextOffset(q.Offset, len(items), int(total)), Total: total})
	}
}

func handleQAItem(svc *quality.Service, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := svc.Get(c.UserContext(), caller(c), c.Params("id"), g.meta(c))
		if err != nil {
			return err
		}
		return c.JSON(p)
	}
}

type qaReviewRequest struct {
	DecisionID string `json:"decision_id"`
	Verdict    string `json:"verdict"`
	ErrorType  string `json:"error_type"`
	Severity   string `json:"severity"`
	Feedback   string `json:"feedback"`
}

func handleQAReview(svc *quality.Service, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req qaReviewRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		it, err := svc.Review(c.UserContext(), caller(c), quality.NewReview(req), g.meta(c))
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(it)
	}
}

type qaCorrectionRequest struct {
	Kind          string         `json:"kind"`
	Reason        string         `json:"reason"`
	Action        string         `json:"action"`
	PolicyArea    string         `json:"policy_area"`
	Duration      cases.Duration `json:"duration"`
	Features      []string       `json:"features"`
	Justification string         `json:"justification"`
}

func handleQACorrection(svc *quality.Service, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req qaCorrectionRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		in := quality.NewCorrection{Kind: req.Kind, Reason: req.Reason, Proposal: cases.Proposal{Action: cases.Action(req.Action),
			PolicyArea: req.PolicyArea, Duration: req.Duration, Features: req.Features, Justification: req.Justification}}
		it, err := svc.Correct(c.UserContext(), caller(c), c.Params("id"), in, g.meta(c))
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(it)
	}
}

func handleQAFeedback(svc *quality.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f errs.Fields
		limit, cursor := pageParams(c, &f)
		offset := offsetCursor(cursor, &f)
		if err := f.Err(); err != nil {
			return err
		}
		items, total, err := svc.Feedback(c.UserContext(), caller(c), limit, offset)
		if err != nil {
			return err
		}
		return c.JSON(list[quality.Item]{Items: nonNilItems(items), NextCursor: nextOffset(offset, len(items), int(total)), Total: total})
	}
}

func handleCaseQA(svc *quality.Service, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := svc.CaseFeedback(c.UserContext(), caller(c), c.Params("id"), g.meta(c))
		if err != nil {
			return err
		}
		return c.JSON(list[quality.Item]{Items: nonNilItems(items), Total: int64(len(items))})
	}
}

func handleQAAlerts(svc *quality.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		alerts, err := svc.Alerts(c.UserContext(), caller(c))
		if err != nil {
			return err
		}
		return c.JSON(list[quality.Alert]{Items: alerts, Total: int64(len(alerts))})
	}
}

func handleQAAlertRCA(svc *quality.Service, rcas quality.RCAs, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		key, err := svc.SeedRCA(c.UserContext(), caller(c), rcas, c.Params("id"), g.meta(c))
		if err != nil {
			return err
		}
		c.Location("/api/v1/incidents/" + key)
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"incident": key})
	}
}

// scorecardReport is GET /reports/quality and /reports/vendors.
type scorecardReport struct {
	By     string              `json:"by"`
	From   *time.Time          `json:"from,omitempty"`
	To     *time.Time          `json:"to,omitempty"`
	Groups []quality.Scorecard `json:"groups"`
}

// handleScorecards serves scorecards grouped by the by query parameter, or
// by a fixed grouping (the vendors report); group narrows to one group,
// taken from the :vendor path parameter on /reports/vendors/:vendor.
func handleScorecards(svc *quality.Service, fixedBy string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f errs.Fields
		q := quality.ScorecardQuery{By: c.Query("by", "vendor"), Group: c.Query("group"), From: timeParam(c, "from", &f), To: timeParam(c, "to", &f)}
		if fixedBy != "" {
			q.By, q.Group = fixedBy, c.Params("vendor")
		}
		if len(q.Group) > 64 {
			f.Add("group", "must be at most 64 characters")
		}
		if err := f.Err(); err != nil {
			return err
		}
		cards, err := svc.Scorecards(c.UserContext(), caller(c), q)
		if err != nil {
			return err
		}
		if q.Group != "" && len(cards) == 1 && cards[0].Decisions == 0 && cards[0].Cases == 0 && caller(c).Vendor != q.Group {
			// A group with nothing to show is indistinguishable from one
			// that does not exist.
			return errs.E(errs.NotFound, "scorecard not found")
		}
		rep := scorecardReport{By: q.By, Groups: cards}
		if !q.From.IsZero() {
			rep.From = &q.From
		}
		if !q.To.IsZero() {
			rep.To = &q.To
		}
		return c.JSON(rep)
	}
}
