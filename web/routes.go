package web

import (
	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/rca"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// registerRoutes lists the whole HTTP surface in one place.
func registerRoutes(app *fiber.App, d Deps) {
	app.Use(withRequestID, securityHeaders, observe(d.Logger, d.Metrics, d.TrustedProxies), recoverPanics(d.Logger))

	app.Get("/healthz", handleHealth)
	app.Get("/readyz", handleReady(d.Ready))
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(d.Metrics, promhttp.HandlerOpts{})))
	app.Get("/api/openapi.json", handleOpenAPI(d.Logger))

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

	authed.Get("/taxonomy", handleTaxonomyGet(d.Cases))
	authed.Put("/taxonomy", handleTaxonomyPut(d.Cases, g))

	authed.Get("/actors/:actor_id", handleActorProfile(d.Cases, g))
	authed.Post("/cases", handleCaseCreate(d.Cases, g))
	authed.Get("/cases", csvOr(handleCaseListCSV(d.Search, d.Now, g), handleCaseList(d.Search, d.Now)))
	// Before /cases/:id, which would take "CF-2026-1.md" as an id; Fiber
	// reads the "." after a parameter as a literal.
	authed.Get("/cases/:id.md", handleCaseExport(d.Cases, g, asMarkdown, "id"))
	authed.Get("/cases/:id.pdf", handleCaseExport(d.Cases, g, asPDF, "id"))
	authed.Get("/cases/:id", handleCaseGet(d.Cases, g))
	authed.Patch("/cases/:id", handleCasePatch(d.Cases, g))
	authed.Post("/cases/:id/transitions", handleCaseTransition(d.Cases, g))
	authed.Post("/cases/:id/notes", handleCaseNote(d.Cases, g))
	authed.Get("/cases/:id/timeline", handleCaseTimeline(d.Cases))
	authed.Post("/cases/:id/evidence", handleCaseEvidence(d.Cases, g, d.MaxAttachment))
	authed.Get("/cases/:id/evidence/:n/file", handleEvidenceFile(d.Cases, g))
	authed.Get("/cases/:id/enforcement/recommendation", handleRecommendation(d.Cases))
	authed.Post("/cases/:id/enforcements", handleEnforcementPropose(d.Cases, g))
	authed.Post("/cases/:id/enforcements/:eid/approve", handleEnforcementDecide(d.Cases, g, cases.Approve))
	authed.Post("/cases/:id/enforcements/:eid/reject", handleEnforcementDecide(d.Cases, g, cases.Reject))
	authed.Post("/cases/:id/enforcements/:eid/apply", handleEnforcementDecide(d.Cases, g, cases.Apply))
	authed.Post("/cases/:id/enforcements/:eid/reverse", handleEnforcementDecide(d.Cases, g, cases.Reverse))

	authed.Post("/incidents", handleIncidentCreate(d.RCA, g))
	authed.Get("/incidents", handleIncidentList(d.Search, d.RCA, d.Now))
	authed.Get("/incidents/:id", handleIncidentGet(d.RCA))
	authed.Patch("/incidents/:id", handleIncidentPatch(d.RCA, g))
	authed.Put("/incidents/:id/rca", handleRCAPut(d.RCA, g))
	authed.Post("/incidents/:id/action-items", handleActionItemCreate(d.RCA, g))
	authed.Patch("/incidents/:id/action-items/:n", handleActionItemPatch(d.RCA, g))
	authed.Get("/incidents/:id/postmortem", handlePostmortemGet(d.RCA))
	authed.Put("/incidents/:id/postmortem", handlePostmortemPut(d.RCA, g))
	authed.Post("/incidents/:id/postmortem/submit", handlePostmortemStep(d.RCA, g, rca.Submit))
	authed.Post("/incidents/:id/postmortem/approve", handlePostmortemStep(d.RCA, g, rca.Approve))
	authed.Post("/incidents/:id/postmortem/publish", handlePostmortemStep(d.RCA, g, rca.Publish))
	authed.Post("/incidents/:id/postmortem/comments", handlePostmortemComment(d.RCA, g))
	authed.Post("/rca/classify", handleClassify(d.RCA))
	authed.Get("/rca/classifier", handleClassifierStats(d.RCA))
	authed.Get("/postmortems", handlePostmortemList(d.Search, d.Now))
	authed.Get("/postmortems/:id.md", handlePostmortemExport(d.RCA, g, asMarkdown, "id"))
	authed.Get("/postmortems/:id.pdf", handlePostmortemExport(d.RCA, g, asPDF, "id"))
	authed.Get("/postmortems/:id", handlePublishedGet(d.RCA))
	authed.Get("/reports/root-causes", handleRootCauseReport(d.RCA))
	// Transparency: applied enforcements row by row, and their counts.
	authed.Get("/enforcements", handleEnforcements(d.Cases, d.Search, g))
	authed.Get("/reports/enforcement", handleEnforcementReport(d.Cases, d.Search))

	// Risk register. riskGate refuses callers who may not read risks
	// before any body is read.
	authed.Post("/risks", riskGate(g), handleRiskCreate(d.Risks, g))
	authed.Get("/risks", riskGate(g), handleRiskList(d.Risks, g))
	authed.Get("/risks/:id", riskGate(g), handleRiskGet(d.Risks, g))
	authed.Patch("/risks/:id", riskGate(g), handleRiskPatch(d.Risks, g))
	authed.Post("/risks/:id/links", riskGate(g), handleRiskLink(d.Risks, g))
	authed.Delete("/risks/:id/links/cases/:case", riskGate(g), handleRiskUnlinkCase(d.Risks, g))
	authed.Delete("/risks/:id/links/incidents/:incident", riskGate(g), handleRiskUnlinkIncident(d.Risks, g))
	authed.Post("/risks/:id/changes", riskGate(g), handleRiskChangeCreate(d.Risks, g))
	authed.Patch("/risks/:id/changes/:n", riskGate(g), handleRiskChangePatch(d.Risks, g))
	authed.Post("/risks/:id/rca", riskGate(g), handleRiskSeedRCA(d.Risks, g))

	// Quality: QA sampling, reviews, feedback, alerts, scorecards.
	authed.Get("/qa/rules", handleQARulesGet(d.Quality))
	authed.Put("/qa/rules", handleQARulesPut(d.Quality, g))
	authed.Get("/qa/queue", handleQAQueue(d.Quality))
	authed.Get("/qa/queue/:id", handleQAItem(d.Quality, g))
	authed.Post("/qa/reviews", handleQAReview(d.Quality, g))
	authed.Post("/qa/reviews/:id/correction", handleQACorrection(d.Quality, g))
	authed.Get("/qa/feedback", handleQAFeedback(d.Quality))
	authed.Get("/cases/:id/qa", handleCaseQA(d.Quality, g))
	authed.Get("/cases/:id/risks", riskGate(g), handleCaseRisks(d.Risks, g))
	authed.Post("/cases/:id/risks", riskGate(g), handleCaseRiskLink(d.Risks, g))
	authed.Get("/qa/calibration-sets", handleCalibrationSetList(d.Quality))
	authed.Post("/qa/calibration-sets", handleCalibrationSetCreate(d.Quality, g))
	authed.Get("/qa/calibration-sets/:id", handleCalibrationSetGet(d.Quality))
	authed.Post("/qa/calibration-sets/:id/assign", handleCalibrationAssign(d.Quality, g))
	authed.Post("/qa/calibration-sets/:id/answers", handleCalibrationAnswers(d.Quality, g))
	authed.Get("/qa/alerts", handleQAAlerts(d.Quality))
	authed.Post("/qa/alerts/:id/rca", handleQAAlertRCA(d.Quality, d.RCA, g))
	authed.Get("/reports/quality", handleScorecards(d.Quality, ""))
	authed.Get("/reports/vendors", handleScorecards(d.Quality, "vendor"))
	authed.Get("/reports/vendors/:vendor", handleScorecards(d.Quality, "vendor"))

	authed.Get("/search", handleSearch(d.Search))
	authed.Get("/cases/:id/similar", handleCaseSimilar(d.Cases, d.Search, g))
	authed.Get("/incidents/:id/similar", handleIncidentSimilar(d.RCA, d.Search))

	authed.Get("/webhooks", handleWebhookList(d.Webhooks, g))
	authed.Post("/webhooks", handleWebhookCreate(d.Webhooks, g))
	authed.Delete("/webhooks/:id", handleWebhookDelete(d.Webhooks, g))
	authed.Get("/webhooks/:id/deliveries", handleWebhookDeliveries(d.Webhooks, g))

	authed.Get("/audit", handleAuditList(d.Audit, g))
	authed.Get("/audit/verify", handleAuditVerify(d.Audit, g))

	// The browser UI (ui.go, ui_*.go): pages over the same services.
	registerUI(app, d, g)
}
