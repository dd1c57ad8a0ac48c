package cases

import (
	"cmp"
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// ListQuery is the input of List: the filters of GET /cases.
type ListQuery struct {
	Query
	SLAState SLAState
	// Text matches title, summary, key and actor id, case-insensitively.
	Text string
	// Sort is created_at, updated_at, severity or due, "-" first for
	// descending. Empty is -created_at.
	Sort   string
	Limit  int
	Cursor string
}

var sortKeys = []string{"created_at", "updated_at", "severity", "due"}

// List returns the cases the caller may see that match q.
//
// Until the search index serves lists, this reads matching cases from the
// store, keeps those auth.Can lets the caller read (so a list can never
// show what a read would refuse), and sorts and pages in memory.
func (s *Service) List(ctx context.Context, u *auth.User, q ListQuery) ([]Case, string, int, error) {
	// A role that could not read even a case of its own team, vendor and
	// assignment (leadership) may not list cases at all.
	if !auth.Can(u, auth.ReadCase, auth.Resource{Team: u.Team, Vendor: u.Vendor, Assignee: u.Username}) {
		return nil, "", 0, errs.E(errs.Forbidden, "your role may not list cases")
	}
	var f errs.Fields
	desc := strings.HasPrefix(q.Sort, "-")
	key := strings.TrimPrefix(q.Sort, "-")
	if q.Sort == "" {
		key, desc = "created_at", true
	}
	if !slices.Contains(sortKeys, key) {
		f.Add("sort", "must be one of %s, with - for descending", strings.Join(sortKeys, ", "))
	}
	offset := 0
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
		if err != nil || perr != nil || !strings.HasPrefix(string(b), "o:") || n < 0 {
			f.Add("cursor", "is not a cursor this server issued")
		}
		offset = n
	}
	if err := f.Err(); err != nil {
		return nil, "", 0, err
	}
	all, err := s.store.FindCases(ctx, q.Query)
	if err != nil {
		return nil, "", 0, err
	}
	text := strings.ToLower(q.Text)
	var out []Case
	for i := range all {
		c := &all[i]
		if !auth.Can(u, auth.ReadCase, c.Resource()) {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(c.Title+"\n"+c.Summary+"\n"+c.Key+"\n"+c.Actor.ActorID), text) {
			continue
		}
		p := s.present(ctx, c)
		if q.SLAState != "" && (p.SLA == nil || p.SLA.State != q.SLAState) {
			continue
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b Case) int {
		var r int
		switch key {
		case "updated_at":
			r = a.UpdatedAt.Compare(b.UpdatedAt)
		case "severity":
			r = cmp.Compare(b.Severity.Rank(), a.Severity.Rank()) // ascending = least grave first
		case "due":
			r = dueOf(a).Compare(dueOf(b))
		default:
			r = a.CreatedAt.Compare(b.CreatedAt)
		}
		if r == 0 {
			r = cmp.Compare(a.ID, b.ID)
		}
		if desc {
			return -r
		}
		return r
	})
	total := len(out)
	if offset > total {
		offset = total
	}
	end := min(total, offset+q.Limit)
	next := ""
	if end < total {
		next = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
	}
	page := out[offset:end]
	for i := range page {
		page[i].Timeline = nil
	}
	return page, next, total, nil
}

// dueOf is when the case's running clock is due: triage before triage
// ends, then resolve.
func dueOf(c Case) time.Time {
	switch {
	case c.SLA == nil:
		return time.Time{}
	case c.TriagedAt == nil:
		return c.SLA.Triage.Due
	}
	return c.SLA.Resolve.Due
}
