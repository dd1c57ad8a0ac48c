package web

import (
	"net/netip"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// guard is what every handler needs to check permissions and describe the
// request to the audit log.
type guard struct {
	audit   AuditLog
	trusted []netip.Prefix
}

// meta is what the audit log needs to know about the request.
func (g guard) meta(c *fiber.Ctx) auth.Meta {
	return auth.Meta{IP: clientIP(c, g.trusted), RequestID: requestID(c)}
}

// authorize asks auth.Can and records a refusal in the audit log.
func (g guard) authorize(c *fiber.Ctx, a auth.Action, r auth.Resource, e auth.Entity) error {
	u := caller(c)
	if auth.Can(u, a, r) {
		return nil
	}
	m := g.meta(c)
	if err := g.audit.Record(c.UserContext(), auth.AuditEvent{User: u.Username, Role: u.Role, Action: string(a), Entity: e,
		IP: m.IP, RequestID: m.RequestID, Outcome: auth.OutcomeDenied}); err != nil {
		return err
	}
	return errs.E(errs.Forbidden, "your role may not %s", a)
}

func handleAuditList(log AuditLog, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := g.authorize(c, auth.ReadAudit, auth.Resource{}, auth.Entity{Type: "audit"}); err != nil {
			return err
		}
		var f errs.Fields
		limit, cursor := pageParams(c, &f)
		filter := auth.AuditFilter{
			User:       c.Query("user"),
			EntityType: c.Query("entity_type"),
			EntityID:   c.Query("entity_id"),
			Action:     c.Query("action"),
			From:       timeParam(c, "from", &f),
			To:         timeParam(c, "to", &f),
		}
		for name, v := range map[string]string{"user": filter.User, "entity_type": filter.EntityType, "entity_id": filter.EntityID, "action": filter.Action} {
			if len(v) > 200 {
				f.Add(name, "must be at most 200 characters")
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		items, next, total, err := log.List(c.UserContext(), filter, limit, cursor)
		if err != nil {
			return err
		}
		return c.JSON(list[auth.AuditEvent]{Items: items, NextCursor: next, Total: total})
	}
}

func handleAuditVerify(log AuditLog, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := g.authorize(c, auth.ReadAudit, auth.Resource{}, auth.Entity{Type: "audit"}); err != nil {
			return err
		}
		res, err := log.Verify(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(res)
	}
}
