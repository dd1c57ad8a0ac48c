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
