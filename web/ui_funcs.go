package web

import (
	"fmt"
	"html/template"
	"maps"
	"strings"
	"time"

	"casefile.dev/casefile/auth"
)

// uiFuncs are the template functions: the shared ones here, and each page
// group's own (ui*Funcs in its file).
func uiFuncs() template.FuncMap {
	f := template.FuncMap{
		// can reports whether u may take action (an auth.Action name) on
		// anything at all: menus and buttons ask it; the services decide.
		"can": func(u *auth.User, action string) bool {
			return u != nil && auth.Can(u, auth.Action(action), auth.Resource{})
		},
		"menu": menu,
		"role": func(u *auth.User) string {
			if u == nil {
				return ""
			}
			return string(u.Role)
		},
		// date and datetime print times in UTC, as everything is stored.
		"date": func(t any) string { return fmtTime(t, "2006-01-02") },
		"datetime": func(t any) string {
			return fmtTime(t, "2006-01-02 15:04 UTC")
		},
		"isoTime": func(t any) string { return fmtTime(t, time.RFC3339) },
		"join":    strings.Join,
		"title": func(s string) string {
			s = strings.ReplaceAll(s, "_", " ")
			if s == "" {
				return s
			}
			return strings.ToUpper(s[:1]) + s[1:]
		},
		// dict builds a map for passing several values to a partial.
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		"percent": func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) },
	}
	for _, group := range []template.FuncMap{uiCasesFuncs, uiIncidentsFuncs, uiLeadFuncs, uiInsightFuncs} {
		maps.Copy(f, group)
	}
	return f
}

// fmtTime formats a time, a *time.Time or an RFC 3339 string (as index
// rows hold them); anything else prints empty.
func fmtTime(v any, layout string) string {
	switch t := v.(type) {
	case time.Time:
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(layout)
	case *time.Time:
		if t == nil || t.IsZero() {
			return ""
		}
		return t.UTC().Format(layout)
	case string:
		p, err := time.Parse(time.RFC3339, t)
		if err != nil {
			return ""
		}
		return p.UTC().Format(layout)
	}
	return ""
}

// navItem is an entry of the main menu.
type navItem struct{ Key, Href, Label string }

// menu lists the pages u may open, in menu order. Each entry asks
// auth.Can (or the case scope) the question its page's service asks.
func menu(u *auth.User) []navItem {
	var out []navItem
	add := func(ok bool, key, href, label string) {
		if ok {
			out = append(out, navItem{key, href, label})
		}
	}
	readsCases := auth.ReadableCases(u) != auth.CaseScope{}
	add(readsCases, "queue", "/", "My queue")
	add(readsCases, "cases", "/cases", "Cases")
	add(auth.Can(u, auth.ApproveEnforcement, auth.Resource{}), "approvals", "/approvals", "Approvals")
	add(auth.Can(u, auth.EditIncident, auth.Resource{}), "incidents", "/incidents", "Incidents")
	add(auth.Can(u, auth.ReadPostmortem, auth.Resource{Published: true}), "postmortems", "/postmortems", "Postmortems")
	add(auth.Can(u, auth.ReviewQuality, auth.Resource{}), "qa", "/qa", "QA")
	// Calibration sets are answered by the agents they are assigned to;
	// reviewers reach them from the QA page.
	add(readsCases && !auth.Can(u, auth.ReviewQuality, auth.Resource{}), "calibration", "/qa/calibration", "Calibration")
	add(auth.Can(u, auth.ReadRisk, auth.Resource{}), "risks", "/risks", "Risks")
	add(auth.Can(u, auth.ReadReports, auth.Resource{}), "dashboard", "/dashboard", "Dashboard")
	// A vendor agent reads their own vendor's scorecard.
	add(auth.Can(u, auth.ReadReports, auth.Resource{}) || auth.ReadableCases(u).Vendor != "", "scorecards", "/scorecards", "Scorecards")
	add(auth.Can(u, auth.Search, auth.Resource{}), "search", "/search", "Search")
	add(auth.Can(u, auth.ManageUsers, auth.Resource{}), "admin", "/admin", "Admin")
	return out
}
