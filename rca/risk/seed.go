package risk

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/rca"
)

// Seeded is the answer of SeedRCA.
type Seeded struct {
	IncidentID  string `json:"incident_id"`
	IncidentKey string `json:"incident_key"`
	// Created is false when an earlier call had opened the incident and
	// this one only finished or confirmed the remaining steps.
	Created bool `json:"created"`
	Risk    Risk `json:"risk"`
}

// samples is how many case keys a seeded problem statement names.
const samples = 5

// SeedRCA opens an issue in rca for risk id and pre-fills its RCA's
// problem statement with the risk's evidence: linked cases per month,
// regions, actor kinds and a few case keys the caller may read. The caller
// needs the edit right on risks and the right to open incidents. sev
// defaults to sev2.
//
// A risk seeds one RCA. The steps run in this order:
//
//  1. find the incident: the one recorded on the risk, or one an earlier
//     call opened (found by its detection text, "risk register <KEY>");
//     only if there is none, open it;
//  2. record it on the risk (linked, and as rca_incident);
//  3. write the problem statement, if the RCA has none yet.
//
// The store has no multi-document transactions, so a failure after step 1
// leaves an incident that the risk does not list yet, or whose RCA is
// empty. Each step is a no-op when already done, so retrying the same
// request finishes the work instead of opening a second incident; a call
// on a risk whose RCA was fully seeded answers that incident (Created
// false) and changes nothing.
func (s *Service) SeedRCA(ctx context.Context, u *auth.User, id string, sev rca.Severity, m auth.Meta) (Seeded, error) {
	for _, a := range []auth.Action{auth.EditRisk, auth.CreateIncident} {
		if err := s.authorize(ctx, u, m, a, "risk.seed_rca", refKey(id)); err != nil {
			return Seeded{}, err
		}
	}
	if sev == "" {
		sev = "sev2"
	}
	if !sev.Valid() {
		return Seeded{}, &errs.Error{Code: errs.Invalid, Message: "bad severity", Fields: []errs.FieldError{{Field: "severity", Message: "must be one of sev0, sev1, sev2, sev3"}}}
	}
	r, err := s.load(ctx, id)
	if err != nil {
		return Seeded{}, err
	}

	inc, created, err := s.seedIncident(ctx, u, &r, sev, m)
	if err != nil {
		return Seeded{}, err
	}
	r, err = s.mutate(ctx, u, id, 0, m, "risk.seed_rca", func(r *Risk, _ time.Time) (bool, map[string]string, error) {
		changed := false
		if !slices.Contains(r.LinkedIncidents, inc.Key) {
			r.LinkedIncidents = append(r.LinkedIncidents, inc.Key)
			changed = true
		}
		if r.RCAIncident == "" {
			r.RCAIncident = inc.Key
			changed = true
		}
		return changed, map[string]string{"incident": inc.Key}, nil
	})
	if err != nil {
		return Seeded{}, err
	}
	if strings.TrimSpace(inc.RCA.ProblemStatement) == "" {
		// Keep whatever else the RCA holds; at the version just read, so
		// an edit made meanwhile is not overwritten (412: retry).
		analysis := inc.RCA
		analysis.ProblemStatement = problemStatement(u, &r)
		if _, err := s.incidents.PutRCA(ctx, u, inc.Key, inc.Version, analysis, m); err != nil {
			return Seeded{}, err
		}
	}
	return Seeded{IncidentID: inc.ID, IncidentKey: inc.Key, Created: created, Risk: s.present(u, r)}, nil
}

// seedIncident is step 1 of SeedRCA: the risk's incident, opened only if
// no earlier call did.
func (s *Service) seedIncident(ctx context.Context, u *auth.User, r *Risk, sev rca.Severity, m auth.Meta) (rca.Incident, bool, error) {
	if r.RCAIncident != "" {
		in, err := s.incidents.GetIncident(ctx, u, r.RCAIncident)
		return in, false, err
	}
	if in, ok, err := s.findSeeded(ctx, u, r.Key); err != nil || ok {
		return in, false, err
	}
	if len(r.LinkedIncidents) >= s.maxLinks {
		return rca.Incident{}, false, bound("incident_id", "a risk links at most %d incidents; unlink some first", s.maxLinks)
	}
	in, err := s.incidents.CreateIncident(ctx, u, rca.NewIncident{
		Kind: rca.KindIssue, Title: r.Title, Severity: sev, StartedAt: r.CreatedAt, Detection: detection(r.Key),
		Impact: rca.Impact{Text: impactText(r), Regions: topRegions(r.Evidence.Regions)},
	}, m)
	return in, err == nil, err
}

// findSeeded finds an incident an earlier SeedRCA opened for risk key but
// did not record on the risk. The key is in the impact text, which the
// incident list filters on; the detection text confirms the match.
func (s *Service) findSeeded(ctx context.Context, u *auth.User, key string) (rca.Incident, bool, error) {
	list, _, err := s.incidents.ListIncidents(ctx, u, rca.IncidentQuery{Text: key, Limit: 100})
	if err != nil {
		return rca.Incident{}, false, err
	}
	for _, in := range list {
		if in.Kind == rca.KindIssue && in.Detection == detection(key) {
			return in, true, nil
		}
	}
	return rca.Incident{}, false, nil
}

func detection(key string) string { return "risk register " + key }

func impactText(r *Risk) string {
	return fmt.Sprintf("Seeded from the risk register (%s): %d linked cases; regions: %s.",
		r.Key, r.Evidence.CaseCount, formatCounts(r.Evidence.Regions, byCount))
}

// problemStatement sets out the risk's evidence, naming only cases u may read.
func problemStatement(u *auth.User, r *Risk) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Seeded from risk %s (%s): %s\n", r.Key, r.Status, r.Title)
	if d := strings.TrimSpace(r.Description); d != "" {
		fmt.Fprintf(&b, "\n%s\n", clip(d, 4000))
	}
	fmt.Fprintf(&b, "\nLinked cases: %d\n", r.Evidence.CaseCount)
	fmt.Fprintf(&b, "Cases per month: %s\n", formatCounts(r.Evidence.ByMonth, byKey))
	fmt.Fprintf(&b, "Regions: %s\n", formatCounts(r.Evidence.Regions, byCount))
	fmt.Fprintf(&b, "Actor kinds: %s\n", formatCounts(r.Evidence.ActorKinds, byCount))
	if keys := readableKeys(u, r.Links, samples); len(keys) > 0 {
		fmt.Fprintf(&b, "Sample cases: %s\n", strings.Join(keys, ", "))
	}
	return clip(b.String(), maxText)
}

// Orders of formatCounts.
const (
	byKey   = iota // months: oldest first
	byCount        // largest first, ties by name
)

// formatCounts writes counts as "DE: 5, US: 2" ("none" when empty).
func formatCounts(counts map[string]int, order int) string {
	keys := slices.Sorted(maps.Keys(counts))
	if order == byCount {
		slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(counts[b], counts[a]) })
	}
	if len(keys) == 0 {
		return "none"
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

var regionPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// topRegions are the regions an incident's impact lists: real region codes
// (not "unknown"), most cases first, as many as rca accepts.
func topRegions(counts map[string]int) []string {
	keys := slices.Sorted(maps.Keys(counts))
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(counts[b], counts[a]) })
	out := []string{}
	for _, k := range keys {
		if regionPattern.MatchString(k) && len(out) < maxList {
			out = append(out, k)
		}
	}
	return out
}

// clip cuts s to at most n bytes on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-len("…")]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
