package web

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

type userCreateRequest struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Team        string `json:"team"`
	Vendor      string `json:"vendor"`
	Password    string `json:"password"`
}

// userPatchRequest lists what an admin may change; anything else (version,
// password_hash, created_at, username) is an unknown field and refused.
type userPatchRequest struct {
	DisplayName *string `json:"display_name"`
	Role        *string `json:"role"`
	Team        *string `json:"team"`
	Vendor      *string `json:"vendor"`
	Disabled    *bool   `json:"disabled"`
	Password    *string `json:"password"`
}

func (r userPatchRequest) toPatch() auth.UserPatch {
	p := auth.UserPatch{DisplayName: r.DisplayName, Team: r.Team, Vendor: r.Vendor, Disabled: r.Disabled, Password: r.Password}
	if r.Role != nil {
		role := auth.Role(*r.Role)
		p.Role = &role
	}
	return p
}

func handleUserList(svc UserService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f errs.Fields
		limit, cursor := pageParams(c, &f)
		if err := f.Err(); err != nil {
			return err
		}
		users, next, total, err := svc.ListUsers(c.UserContext(), caller(c), limit, cursor, g.meta(c))
		if err != nil {
			return err
		}
		return c.JSON(list[auth.User]{Items: users, NextCursor: next, Total: total})
	}
}

// handleUserCreate refuses non-admins before reading the body, so that they
// learn nothing from validation messages.
func handleUserCreate(svc UserService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := g.authorize(c, auth.ManageUsers, auth.Resource{}, auth.Entity{Type: "user"}); err != nil {
			return err
		}
		var req userCreateRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		u, err := svc.CreateUser(c.UserContext(), caller(c), auth.NewUser{
			Username: req.Username, DisplayName: req.DisplayName, Role: auth.Role(req.Role),
			Team: req.Team, Vendor: req.Vendor, Password: req.Password,
		}, g.meta(c))
		if err != nil {
			return err
		}
		c.Location("/api/v1/users/" + url.PathEscape(u.Username))
		setETag(c, u.Version)
		return c.Status(fiber.StatusCreated).JSON(u)
	}
}

func handleUserGet(svc UserService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u, err := svc.GetUser(c.UserContext(), caller(c), c.Params("username"), g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, u.Version)
		return c.JSON(u)
	}
}

func handleUserPatch(svc UserService, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := g.authorize(c, auth.ManageUsers, auth.Resource{}, auth.Entity{Type: "user", ID: c.Params("username")}); err != nil {
			return err
		}
		version, err := ifMatch(c)
		if err != nil {
			return err
		}
		var req userPatchRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		u, err := svc.UpdateUser(c.UserContext(), caller(c), c.Params("username"), version, req.toPatch(), g.meta(c))
		if err != nil {
			return err
		}
		setETag(c, u.Version)
		return c.JSON(u)
	}
}
