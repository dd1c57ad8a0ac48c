package web

import "github.com/gofiber/fiber/v2"

// settingsPage shows the signed-in user's account and preferences.
func (u *ui) settingsPage(c *fiber.Ctx) error {
	return u.page(c, "settings", "Your settings", "", nil)
}
