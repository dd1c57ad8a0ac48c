package web

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/search"
)

// Searcher runs permission-aware searches.
type Searcher interface {
	Search(ctx context.Context, u *auth.User, r search.Request) (search.Result, error)
	Similar(ctx context.Context, u *auth.User, typ, id string, size int) (search.Result, error)
	// Tally counts for reports (the dashboard's numbers no service has).
	Tally(ctx context.Context, u *auth.User, t search.Tally) (search.Tallied, error)
}

// handleCaseSimilar is GET /cases/{id}/similar: the case is read first, so
// the caller's right to it is checked (and a key resolved) as for any read.
func handleCaseSimilar(cs CaseService, s Searcher, g guard) fiber.Handler {
	return func(c *fiber.Ctx) error {
		kc, err := cs.Get(c.UserContext(), caller(c), c.Params("id"), g.meta(c))
		if err != nil {
			return err
		}
		var f errs.Fields
		size := intParam(c, "size", 10, &f)
		if err := f.Err(); err != nil {
			return err
		}
		res, err := s.Similar(c.UserContext(), caller(c), search.TypeCase, kc.ID, size)
		if err != nil {
			return err
		}
		return c.JSON(res)
	}
}

// handleIncidentSimilar is GET /incidents/{id}/similar.
func handleIncidentSimilar(rs RCAService, s Searcher) fiber.Handler {
	return func(c *fiber.Ctx) error {
		in, err := rs.GetIncident(c.UserContext(), caller(c), c.Params("id"))
		if err != nil {
			return err
		}
		var f errs.Fields
		size := intParam(c, "size", 10, &f)
		if err := f.Err(); err != nil {
			return err
		}
		res, err := s.Similar(c.UserContext(), caller(c), search.TypeIncident, in.ID, size)
		if err != nil {
			return err
		}
		return c.JSON(res)
	}
}

// handleSearch is GET /search?q=&type=&facet=&from=&size=&sort=.
func handleSearch(s Searcher) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f errs.Fields
		r := search.Request{Query: c.Query("q"), Sort: c.Query("sort"), Highlight: true}
		args := c.Context().QueryArgs()
		for _, v := range args.PeekMulti("type") {
			r.Types = append(r.Types, splitList(string(v))...)
		}
		for _, v := range args.PeekMulti("facet") {
			r.Facets = append(r.Facets, splitList(string(v))...)
		}
		r.From = intParam(c, "from", 0, &f)
		r.Size = intParam(c, "size", 20, &f)
		if err := f.Err(); err != nil {
			return err
		}
		res, err := s.Search(c.UserContext(), caller(c), r)
		if err != nil {
			return err
		}
		return c.JSON(res)
	}
}

func intParam(c *fiber.Ctx, name string, def int, f *errs.Fields) int {
	s := c.Query(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f.Add(name, "must be a whole number")
	}
	return n
}
