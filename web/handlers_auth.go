package web

import (
	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/internal/errs"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func handleLogin(svc AuthService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req loginRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		var f errs.Fields
		if req.Username == "" || len(req.Username) > 64 {
			f.Add("username", "is required")
		}
		if req.Password == "" {
			f.Add("password", "is required")
		}
		if err := f.Err(); err != nil {
			return err
		}
		tokens, err := svc.Login(c.UserContext(), req.Username, req.Password, g.meta(c))
		if err != nil {
			return err
		}
		return c.JSON(tokens)
	}
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func handleRefresh(svc AuthService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req refreshRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.RefreshToken == "" {
			return &errs.Error{Code: errs.Invalid, Message: "refresh_token is required", Fields: []errs.FieldError{{Field: "refresh_token", Message: "is required"}}}
		}
		tokens, err := svc.Refresh(c.UserContext(), req.RefreshToken, g.meta(c))
		if err != nil {
			return err
		}
		return c.JSON(tokens)
	}
}

func handleLogout(svc AuthService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := svc.Logout(c.UserContext(), principal(c), g.meta(c)); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

func handleMe(c *fiber.Ctx) error {
	u := caller(c)
	setETag(c, u.Version)
	return c.JSON(u)
}
