package web

import (
	"html/template"

	"github.com/gofiber/fiber/v2"
)

// uiCasesFuncs are this page group's template functions.
var uiCasesFuncs = template.FuncMap{}

// routesCases mounts this group's pages.
func (u *ui) routesCases(r fiber.Router) {}
