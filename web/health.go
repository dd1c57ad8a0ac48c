package web

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/internal/errs"
)

func handleHealth(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

func handleReady(ready func(context.Context) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			c.Status(fiber.StatusServiceUnavailable)
			return c.JSON(fiber.Map{"status": "not ready", "reason": errs.CodeOf(err)})
		}
		return c.JSON(fiber.Map{"status": "ready"})
	}
}
