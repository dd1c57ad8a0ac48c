package web

import (
	"html/template"

	"github.com/gofiber/fiber/v2"
)

// uiLeadFuncs are this page group's template functions.
var uiLeadFuncs = template.FuncMap{}

// routesLead mounts this group's pages.
func (u *ui) routesLead(r fiber.Router) {}
