package web

import (
	"html/template"

	"github.com/gofiber/fiber/v2"
)

// uiInsightFuncs are this page group's template functions.
var uiInsightFuncs = template.FuncMap{}

// routesInsight mounts this group's pages.
func (u *ui) routesInsight(r fiber.Router) {}
