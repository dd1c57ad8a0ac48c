package web

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/errs"
)

// Calibration sets: reviewers (leads, admins) build and assign them and
// see everything; an assignee sees the sets assigned to them, blind (no
// reference answers, nobody else's assignment); to anyone else a set does
// not exist (404) and the list is empty.

type calibrationSetRequest struct {
	Name  string                   `json:"name"`
	Items []calibrationItemRequest `json:"items"`
}

type calibrationItemRequest struct {
	Case       string `json:"case"`
	Verdict    string `json:"verdict"`
	Action     string `json:"action"`
	PolicyArea string `json:"policy_area"`
}

type calibrationAssignRequest struct {
	Users  []string `json:"users"`
	Vendor string   `json:"vendor"`
}

type calibrationAnswersRequest struct {
	Answers []calibrationAnswerRequest `json:"answers"`
}

type calibrationAnswerRequest struct {
	CaseID     string `json:"case_id"`
	Verdict    string `json:"verdict"`
	Action     string `json:"action"`
	PolicyArea string `json:"policy_area"`
}

func toAnswer(verdict, action, policyArea string) quality.Answer {
	return quality.Answer{Verdict: cases.Verdict(verdict), Action: cases.Action(action), PolicyArea: policyArea}
}

// handleCalibrationSetList is GET /qa/calibration-sets: the sets the
// caller may see, newest first, paged by limit and cursor.
func handleCalibrationSetList(svc *quality.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f errs.Fields
		limit, offset := listPage(c, &f)
		if err := f.Err(); err != nil {
			return err
		}
		sets, err := svc.ListCalibrationSets(c.UserContext(), caller(c))
		if err != nil {
			return err
		}
		total := len(sets)
		page := sets[min(offset, total):min(offset+limit, total)]
		return c.JSON(list[quality.CalibrationSet]{Items: nonNilItems(page), NextCursor: nextOffset(offset, len(page), total), Total: int64(total)})
	}
}

// handleCalibrationSetCreate is POST /qa/calibration-sets
// {name, items:[{case, verdict, action, policy_area}]}.
func handleCalibrationSetCreate(svc *quality.Service, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req calibrationSetRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		items := make([]quality.NewCalibrationItem, len(req.Items))
		for i, it := range req.Items {
			items[i] = quality.NewCalibrationItem{Case: it.Case, Answer: toAnswer(it.Verdict, it.Action, it.PolicyArea)}
		}
		set, err := svc.CreateCalibrationSet(c.UserContext(), caller(c), req.Name, items, g.meta(c))
		if err != nil {
			return err
		}
		c.Location("/api/v1/qa/calibration-sets/" + url.PathEscape(set.ID))
		setETag(c, set.Version)
		return c.Status(fiber.StatusCreated).JSON(set)
	}
}

// handleCalibrationSetGet is GET /qa/calibration-sets/:id.
func handleCalibrationSetGet(svc *quality.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		set, err := svc.GetCalibrationSet(c.UserContext(), caller(c), c.Params("id"))
		if err != nil {
			return err
		}
		setETag(c, set.Version)
		return c.JSON(set)
	}
}

// handleCalibrationAssign is POST /qa/calibration-sets/:id/assign
// {users:[...], vendor}.
func handleCalibrationAssign(svc *quality.Service, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req calibrationAssignRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		set, err := svc.AssignCalibrationSet(c.UserContext(), caller(c), c.Params("id"), req.Users, req.Vendor, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, set.Version)
		return c.JSON(set)
	}
}

// handleCalibrationAnswers is POST /qa/calibration-sets/:id/answers
// {answers:[{case_id, verdict, action, policy_area}]}: the assignee's one
// submission, answered with their (blind) view of the set and their score.
func handleCalibrationAnswers(svc *quality.Service, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req calibrationAnswersRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		answers := make([]quality.GivenAnswer, len(req.Answers))
		for i, a := range req.Answers {
			answers[i] = quality.GivenAnswer{CaseID: a.CaseID, Answer: toAnswer(a.Verdict, a.Action, a.PolicyArea)}
		}
		set, err := svc.SubmitCalibrationAnswers(c.UserContext(), caller(c), c.Params("id"), answers, g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, set.Version)
		return c.JSON(set)
	}
}
