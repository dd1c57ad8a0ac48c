package web

import "github.com/gofiber/fiber/v2"

// routesExports mounts the pages' downloads: the API's export handlers
// behind the session, so its cookies, CSRF check and HTML error pages
// apply. None shadows a page route: /cases.csv is not under /cases/, and
// the document exports sit below their object's page.
func (u *ui) routesExports(r fiber.Router) {
	r.Get("/cases.csv", handleCaseListCSV(u.d.Search, u.d.Now, u.g))
	r.Get("/cases/:key/export.md", handleCaseExport(u.d.Cases, u.g, asMarkdown, "key"))
	r.Get("/cases/:key/export.pdf", handleCaseExport(u.d.Cases, u.g, asPDF, "key"))
	// As the reading page: roles that read no postmortem are refused at
	// the gate (403), before any lookup.
	r.Get("/postmortems/:key/export.md", u.postmortemReaders, handlePostmortemExport(u.d.RCA, u.g, asMarkdown, "key"))
	r.Get("/postmortems/:key/export.pdf", u.postmortemReaders, handlePostmortemExport(u.d.RCA, u.g, asPDF, "key"))
}

func (u *ui) postmortemReaders(c *fiber.Ctx) error {
	if err := u.mayReadPostmortems(c); err != nil {
		return err
	}
	return c.Next()
}
