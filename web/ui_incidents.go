package web

import (
	"html/template"

	"github.com/gofiber/fiber/v2"
)

// uiIncidentsFuncs are this page group's template functions.
var uiIncidentsFuncs = template.FuncMap{}

// routesIncidents mounts this group's pages.
func (u *ui) routesIncidents(r fiber.Router) {}
