package web

import (
	"context"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/webhook"
)

// WebhookService manages outgoing webhooks; it checks the caller's right
// itself. *webhook.Service implements it.
type WebhookService interface {
	List(ctx context.Context, u *auth.User, limit, offset int) ([]webhook.Subscription, int64, error)
	Create(ctx context.Context, u *auth.User, in webhook.NewSubscription, m auth.Meta) (webhook.Subscription, error)
	Delete(ctx context.Context, u *auth.User, id string, m auth.Meta) error
	Deliveries(ctx context.Context, u *auth.User, webhookID string, limit int, cursor string) ([]webhook.Delivery, string, int64, error)
}

// webhookCreateRequest is what an admin sends; id, created_by and the
// rest are the server's (unknown fields are refused).
type webhookCreateRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret"`
	Format string   `json:"format"`
}

// Every webhook route is refused to non-admins before anything else is
// read, so that they learn nothing from validation or lookups; the
// refusal is audited.

func handleWebhookList(svc WebhookService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := g.authorize(c, auth.ManageWebhooks, auth.Resource{}, auth.Entity{Type: "webhook"}); err != nil {
			return err
		}
		var f errs.Fields
		limit, offset := listPage(c, &f)
		if err := f.Err(); err != nil {
			return err
		}
		subs, total, err := svc.List(c.UserContext(), caller(c), limit, offset)
		if err != nil {
			return err
		}
		return c.JSON(list[webhook.Subscription]{Items: nonNilItems(subs), NextCursor: nextOffset(offset, len(subs), int(total)), Total: total})
	}
}

func handleWebhookCreate(svc WebhookService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := g.authorize(c, auth.ManageWebhooks, auth.Resource{}, auth.Entity{Type: "webhook"}); err != nil {
			return err
		}
		var req webhookCreateRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		sub, err := svc.Create(c.UserContext(), caller(c), webhook.NewSubscription{URL: req.URL, Events: req.Events,
			Secret: req.Secret, Format: webhook.Format(req.Format)}, g.meta(c))
		if err != nil {
			return err
		}
		c.Location("/api/v1/webhooks/" + url.PathEscape(sub.ID))
		return c.Status(fiber.StatusCreated).JSON(sub)
	}
}

func handleWebhookDelete(svc WebhookService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Params("id")
		if err := g.authorize(c, auth.ManageWebhooks, auth.Resource{}, auth.Entity{Type: "webhook", ID: id}); err != nil {
			return err
		}
		if err := svc.Delete(c.UserContext(), caller(c), id, g.meta(c)); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

func handleWebhookDeliveries(svc WebhookService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Params("id")
		if err := g.authorize(c, auth.ManageWebhooks, auth.Resource{}, auth.Entity{Type: "webhook", ID: id}); err != nil {
			return err
		}
		var f errs.Fields
		limit, cursor := pageParams(c, &f)
		if err := f.Err(); err != nil {
			return err
		}
		items, next, total, err := svc.Deliveries(c.UserContext(), caller(c), id, limit, cursor)
		if err != nil {
			return err
		}
		return c.JSON(list[webhook.Delivery]{Items: nonNilItems(items), NextCursor: next, Total: total})
	}
}
