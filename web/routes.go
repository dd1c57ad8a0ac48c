package web

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// registerRoutes lists the whole HTTP surface in one place.
func registerRoutes(app *fiber.App, d Deps) {
	app.Use(withRequestID, securityHeaders, observe(d.Logger, d.Metrics, d.TrustedProxies), recoverPanics(d.Logger))

	app.Get("/healthz", handleHealth)
	app.Get("/readyz", handleReady(d.Ready))
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(d.Metrics, promhttp.HandlerOpts{})))

	g := guard{audit: d.Audit, trusted: d.TrustedProxies}
	api := app.Group("/api/v1")
	api.Post("/auth/login", handleLogin(d.Auth, g))
	api.Post("/auth/refresh", handleRefresh(d.Auth, g))

	authed := api.Group("", authenticate(d.Auth))
	authed.Post("/auth/logout", handleLogout(d.Auth, g))
	authed.Get("/me", handleMe)

	authed.Get("/users", handleUserList(d.Users, g))
	authed.Post("/users", handleUserCreate(d.Users, g))
	authed.Get("/users/:username", handleUserGet(d.Users, g))
	authed.Patch("/users/:username", handleUserPatch(d.Users, g))

	authed.Get("/audit", handleAuditList(d.Audit, g))
	authed.Get("/audit/verify", handleAuditVerify(d.Audit, g))
}
