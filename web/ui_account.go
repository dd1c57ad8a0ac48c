package web

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// settingsPage shows the signed-in user's account and preferences.
func (u *ui) settingsPage(c *fiber.Ctx) error {
	return u.page(c, "settings", "Your settings", "", nil)
}

// preferenceSetter stores a user's own preferences; *auth.Service
// implements it (Deps.Users).
type preferenceSetter interface {
	SetPreferences(ctx context.Context, u *auth.User, p auth.Preferences, m auth.Meta) (auth.User, error)
}

// settingsPreferences is POST /settings/preferences.
func (u *ui) settingsPreferences(c *fiber.Ctx) error {
	ps, ok := u.d.Users.(preferenceSetter)
	if !ok {
		return errs.E(errs.NotFound, "preferences are not available")
	}
	p := auth.Preferences{RevealMedia: c.FormValue("reveal_media") != ""}
	if _, err := ps.SetPreferences(c.UserContext(), caller(c), p, u.g.meta(c)); err != nil {
		return err
	}
	return u.redirect(c, "/settings", "Your preferences are saved.")
}
