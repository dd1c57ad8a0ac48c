package cases

// Exports: a case written out as one Markdown document (which package
// pdf typesets too), and the applied enforcements of many cases as rows
// and counts for transparency reporting. Exports leave the system, so
// each is audited.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/mdtext"
	"casefile.dev/casefile/search"
)

// Export formats. The content is the same Markdown in both; a PDF is
// typeset from it.
const (
	FormatMarkdown = "markdown"
	FormatPDF      = "pdf"
	FormatCSV      = "csv"
	FormatJSON     = "json"
)

// Export is a case written out for readers outside Casefile.
type Export struct {
	Key      string
	Title    string
	Markdown string
	// At is when it was made.
	At time.Time
}

// ExportMarkdown writes a case, with its whole timeline, as one Markdown
// document in which every text a user wrote is escaped, so that it reads
// as the text it is and cannot add headings, links or HTML. The case is
// read as Get reads it: a case the caller may not read is not found, and
// reading a restricted one is audited. The export itself is audited too
// ("case.export", with the format it leaves in).
func (s *Service) ExportMarkdown(ctx context.Context, u *auth.User, idOrKey, format string, m Meta) (Export, error) {
	if format != FormatMarkdown && format != FormatPDF {
		return Export{}, errs.E(errs.Invalid, "a case exports as markdown or pdf")
	}
	c, err := s.Get(ctx, u, idOrKey, m)
	if err != nil {
		return Export{}, err
	}
	tl, err := s.store.Timeline(ctx, c.ID, 0, c.TimelineCount)
	if err != nil {
		return Export{}, err
	}
	at := s.clock()
	out := Export{Key: c.Key, Title: c.Title, At: at, Markdown: caseMarkdown(&c, tl, u, at)}
	if err := s.record(ctx, u, m, "case.export", &c, auth.OutcomeSuccess, map[string]string{"format": format}); err != nil {
		return Export{}, err
	}
	return out, nil
}

func caseMarkdown(c *Case, tl []TimelineEntry, u *auth.User, at time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Case %s: %s\n\n", c.Key, mdtext.Inline(c.Title))
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&b, "- **%s:** %s\n", name, value)
		}
	}
	list := func(vs []string) string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = mdtext.Inline(v)
		}
		return strings.Join(out, ", ")
	}
	field("Key", c.Key)
	field("Status", string(c.Status))
	field("Severity", string(c.Severity))
	field("Verdict", string(c.Verdict))
	field("Policy areas", list(c.PolicyAreas))
	field("Source", mdtext.Inline(c.SourceKind)+" · "+mdtext.Inline(c.SourceChannel))
	actor := []string{mdtext.Code(c.Actor.ActorID)}
	if c.Actor.Handle != "" {
		actor = append(actor, mdtext.Inline("@"+strings.TrimPrefix(c.Actor.Handle, "@")))
	}
	for _, v := range []string{c.Actor.DisplayName, string(c.Actor.Kind), c.Actor.Region} {
		if v != "" {
			actor = append(actor, mdtext.Inline(v))
		}
	}
	field("Actor", strings.Join(actor, " · "))
	field("Related actors", list(c.RelatedActors))
	field("Team", or(mdtext.Inline(c.Team), "none"))
	field("Vendor", or(mdtext.Inline(c.Vendor), "in-house"))
	field("Assignee", or(mdtext.Inline(c.Assignee), "unassigned"))
	if c.Restricted {
		field("Restricted", "yes")
	}
	field("Tags", list(c.Tags))
	field("Linked cases", list(c.LinkedCases))
	field("Linked incidents", list(c.LinkedIncidents))
	field("Filed", stamp(c.CreatedAt)+" by "+mdtext.Inline(c.CreatedBy))
	field("Updated", stamp(c.UpdatedAt))
	field("Version", fmt.Sprint(c.Version))

	if sla := c.SLA; sla != nil {
		b.WriteString("\n## SLA\n\n")
		field("State", string(sla.State))
		for _, clk := range []struct {
			name string
			c    Clock
		}{{"Triage", sla.Triage}, {"Resolve", sla.Resolve}} {
			v := "due " + stamp(clk.c.Due) + ", " + string(clk.c.State)
			if clk.c.Stopped != nil {
				v += ", done " + stamp(*clk.c.Stopped)
			}
			field(clk.name, v)
		}
	}

	section := func(h, text string) {
		if strings.TrimSpace(text) != "" {
			fmt.Fprintf(&b, "\n## %s\n\n%s\n", h, mdtext.Block(text, ""))
		}
	}
	section("Summary", c.Summary)
	if len(c.Behaviors) > 0 {
		b.WriteString("\n## Behaviours\n\n")
		for _, bh := range c.Behaviors {
			tag := ""
			if bh.Tag != "" {
				tag = " (" + mdtext.Inline(bh.Tag) + ")"
			}
			fmt.Fprintf(&b, "- %s%s\n", mdtext.Inline(bh.Text), tag)
		}
	}
	section("Findings", c.Findings)
	section("Proposed response", c.ProposedResponse)
	section("Mitigation plan", c.MitigationPlan)

	fmt.Fprintf(&b, "\n## Evidence\n\n%s. Files are not included; each is named by its SHA-256.\n\n", count(len(c.Evidence), "entry", "entries"))
	for _, ev := range c.Evidence {
		retracted := ""
		if ev.Retracted {
			retracted = " (retracted)"
		}
		fmt.Fprintf(&b, "- **%d. %s**%s: %s\n", ev.N, mdtext.Inline(ev.Kind), retracted, or(mdtext.Inline(ev.Description), "no description"))
		sub := func(name, value string) {
			if value != "" {
				fmt.Fprintf(&b, "  - %s: %s\n", name, value)
			}
		}
		sub("Reference", mdtext.Inline(ev.Ref))
		sub("Flagged because", mdtext.Inline(ev.FlaggedReason))
		if ev.CapturedAt != nil {
			sub("Captured", stamp(*ev.CapturedAt))
		}
		if a := ev.Attachment; a != nil {
			sub("File", fmt.Sprintf("%s, %s, %d bytes", mdtext.Inline(a.FileName), mdtext.Inline(a.ContentType), a.Size))
		}
		if ev.SHA256 != "" {
			sub("SHA-256", mdtext.Code(ev.SHA256))
		}
		if ev.Retracts > 0 {
			sub("Retracts", fmt.Sprintf("entry %d", ev.Retracts))
		}
		sub("Added", stamp(ev.AddedAt)+" by "+mdtext.Inline(ev.AddedBy))
	}

	fmt.Fprintf(&b, "\n## Enforcements\n\n%s.\n\n", count(len(c.Enforcements), "enforcement", "enforcements"))
	for _, e := range c.Enforcements {
		fmt.Fprintf(&b, "- **%s** (%s): %s\n", e.Action, mdtext.Inline(e.PolicyArea), e.Status)
		sub := func(name, value string) {
			if value != "" {
				fmt.Fprintf(&b, "  - %s: %s\n", name, value)
			}
		}
		sub("Id", mdtext.Code(e.ID))
		if e.Duration > 0 {
			d, _ := e.Duration.MarshalText()
			sub("Duration", string(d))
		}
		sub("Features", list(e.Features))
		sub("Reason", mdtext.Inline(e.Reason))
		sub("Justification", mdtext.Inline(e.Justification))
		if e.Recommended.Action != "" {
			sub("Recommended", fmt.Sprintf("%s at %d active strikes", e.Recommended.Action, e.Recommended.ActiveStrikes))
		}
		// The status history, in the order it happened.
		sub("Proposed", stamp(e.ProposedAt)+" by "+mdtext.Inline(e.ProposedBy))
		if e.DecidedAt != nil {
			verb := "Approved"
			if e.Status == Rejected {
				verb = "Rejected"
			}
			sub(verb, stamp(*e.DecidedAt)+" by "+mdtext.Inline(e.DecidedBy)+note(e.DecisionNote))
		}
		if e.AppliedAt != nil {
			sub("Applied", stamp(*e.AppliedAt)+" by "+mdtext.Inline(e.AppliedBy))
		}
		if e.ExpiresAt != nil {
			verb := "Expires"
			if e.Status == Expired {
				verb = "Expired"
			}
			sub(verb, stamp(*e.ExpiresAt))
		}
		if e.ReversedAt != nil {
			sub("Reversed", stamp(*e.ReversedAt)+" by "+mdtext.Inline(e.ReversedBy)+note(e.ReversalReason))
		}
	}

	fmt.Fprintf(&b, "\n## Timeline\n\n%s, oldest first.\n\n", count(len(tl), "entry", "entries"))
	for _, e := range tl {
		fmt.Fprintf(&b, "- %s · %s · %s", stamp(e.At), mdtext.Inline(e.Author), mdtext.Inline(e.Kind))
		var parts []string
		if e.Kind == EventStatus && e.Detail["from"] != "" {
			parts = append(parts, mdtext.Inline(e.Detail["from"])+" → "+mdtext.Inline(e.Detail["to"]))
		} else {
			keys := make([]string, 0, len(e.Detail))
			for k := range e.Detail {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				parts = append(parts, mdtext.Inline(k)+": "+mdtext.Inline(e.Detail[k]))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
		}
		if strings.TrimSpace(e.Text) != "" {
			fmt.Fprintf(&b, ":\\\n  %s", mdtext.Block(e.Text, "  "))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n---\n\nExported %s by %s (%s). Evidence files are not included.\n", stamp(at), mdtext.Inline(u.Username), u.Role)
	return b.String()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func or(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

func note(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return ": " + mdtext.Inline(s)
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// --- enforcement decisions ---

// DecisionIndex lists and counts decisions from the search index;
// *search.Searcher implements it.
type DecisionIndex interface {
	Tally(ctx context.Context, u *auth.User, t search.Tally) (search.Tallied, error)
}

// MaxEnforcementRows bounds one export of enforcement decisions.
const MaxEnforcementRows = 10_000

// EnforcementQuery selects applied enforcements: applied in [From, To)
// (a zero bound is open), in any of PolicyAreas and of any of Actions
// (empty: all), the page [Offset, Offset+Limit) of them, oldest first.
type EnforcementQuery struct {
	From, To    time.Time
	PolicyAreas []string
	Actions     []Action
	Offset      int
	Limit       int
	// IncludeActor adds each enforced actor's id, for roles that may read
	// actors (auth.ReadActorContact).
	IncludeActor bool
	// Format is how the rows leave (json or csv), for the audit log.
	Format string
}

// EnforcementRecord is one applied enforcement as transparency reports
// list it.
type EnforcementRecord struct {
	CaseKey        string     `json:"case_key"`
	DecisionID     string     `json:"decision_id"`
	PolicyArea     string     `json:"policy_area"`
	Action         Action     `json:"action"`
	Duration       Duration   `json:"duration,omitempty"`
	AppliedAt      time.Time  `json:"applied_at"`
	Reversed       bool       `json:"reversed"`
	ReversedAt     *time.Time `json:"reversed_at,omitempty"`
	ReversalReason string     `json:"reversal_reason,omitempty"`
	ActorID        string     `json:"actor_id,omitempty"`
}

// EnforcementPage is a page of records. Total counts the index's decisions
// that match within the caller's scope; a page leaves out a decision whose
// case the caller may no longer read (the case changed team, vendor or
// restriction since it was indexed), so it may hold fewer than Limit.
type EnforcementPage struct {
	Records []EnforcementRecord
	Total   int
}

// Enforcements lists applied enforcements (in force, expired or reversed)
// of the cases u may read. The index's decision documents select and
// order them within u's scope (auth.ReadableCases: every case, or the
// unrestricted cases of u's team or vendor); each case is then read from
// the store and checked with auth.Can, so a stale index entry never shows
// a case u may not read. Investigators do not see here the decisions of
// another team's cases merely assigned to them: decision documents do not
// carry the case's assignee. Each call is audited ("enforcement.export").
func (s *Service) Enforcements(ctx context.Context, u *auth.User, idx DecisionIndex, q EnforcementQuery, m Meta) (EnforcementPage, error) {
	if !auth.Can(u, auth.ListEnforcements, auth.Resource{}) {
		_ = s.record(ctx, u, m, "enforcement.export", nil, auth.OutcomeDenied, nil)
		return EnforcementPage{}, errs.E(errs.Forbidden, "your role may not list enforcement decisions")
	}
	if q.IncludeActor && !auth.Can(u, auth.ReadActorContact, auth.Resource{}) {
		_ = s.record(ctx, u, m, "enforcement.export", nil, auth.OutcomeDenied, map[string]string{"include_actor": "true"})
		return EnforcementPage{}, &errs.Error{Code: errs.Forbidden, Message: "your role may not export actor ids",
			Fields: []errs.FieldError{{Field: "include_actor", Message: "is not allowed for your role"}}}
	}
	t := search.Tally{Types: []string{search.TypeDecision}, Terms: map[string][]string{"tag": {DecisionEnforcement}},
		Bools: map[string]bool{}, Rows: true, Fields: []string{"id", "key", "created_at"}}
	if len(q.Actions) > 0 {
		// Only enforcement decisions carry an action tag.
		t.Terms["tag"] = nil
		for _, a := range q.Actions {
			t.Terms["tag"] = append(t.Terms["tag"], string(a))
		}
	}
	if len(q.PolicyAreas) > 0 {
		t.Terms["policy_area"] = q.PolicyAreas
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		t.Ranges = []search.Range{{Field: "created_at", From: q.From, To: q.To}}
	}
	scope := auth.ReadableCases(u)
	if !scope.All {
		switch {
		case scope.Team != "":
			t.Terms["team"] = []string{scope.Team}
		case scope.Vendor != "":
			t.Terms["vendor"] = []string{scope.Vendor}
		default:
			return EnforcementPage{Records: []EnforcementRecord{}}, nil
		}
		t.Bools["restricted"] = false
	}
	// The scope is decided above; the index is asked as the system, which
	// reads every decision document.
	res, err := idx.Tally(ctx, &auth.System, t)
	if err != nil {
		return EnforcementPage{}, err
	}
	page := EnforcementPage{Records: []EnforcementRecord{}, Total: len(res.Rows)}
	rows := res.Rows[min(q.Offset, len(res.Rows)):]
	rows = rows[:min(q.Limit, len(rows))]
	cs := map[string]*Case{}
	restricted := 0
	for _, row := range rows {
		id := row.String("id")
		caseID, eid, ok := strings.Cut(id, ":"+DecisionEnforcement+":")
		if !ok {
			continue
		}
		c, seen := cs[caseID]
		if !seen {
			got, err := s.store.Case(ctx, caseID)
			switch {
			case errs.Is(err, errs.NotFound):
			case err != nil:
				return EnforcementPage{}, err
			case auth.Can(u, auth.ReadCase, got.Resource()):
				c = &got
			}
			cs[caseID] = c
		}
		if c == nil {
			continue
		}
		i := slices.IndexFunc(c.Enforcements, func(e Enforcement) bool { return e.ID == eid })
		if i < 0 || c.Enforcements[i].AppliedAt == nil {
			continue
		}
		e := c.Enforcements[i]
		rec := EnforcementRecord{CaseKey: c.Key, DecisionID: id, PolicyArea: e.PolicyArea, Action: e.Action, Duration: e.Duration,
			AppliedAt: *e.AppliedAt, Reversed: e.ReversedAt != nil, ReversedAt: e.ReversedAt, ReversalReason: e.ReversalReason}
		if q.IncludeActor {
			rec.ActorID = c.Actor.ActorID
		}
		if c.Restricted {
			restricted++
		}
		page.Records = append(page.Records, rec)
	}
	detail := map[string]string{"format": q.Format, "rows": fmt.Sprint(len(page.Records)), "restricted_rows": fmt.Sprint(restricted),
		"include_actor": fmt.Sprint(q.IncludeActor)}
	if err := s.audit.Record(ctx, auth.AuditEvent{User: u.Username, Role: u.Role, Action: "enforcement.export",
		Entity: auth.Entity{Type: "enforcements"}, IP: m.IP, RequestID: m.RequestID, Outcome: auth.OutcomeSuccess, Detail: detail}); err != nil {
		return EnforcementPage{}, err
	}
	return page, nil
}

// EnforcementCount is how many enforcements of one kind were applied in a
// period and how many of those were reversed since.
type EnforcementCount struct {
	Key      string `json:"key"`
	Applied  int    `json:"applied"`
	Reversed int    `json:"reversed"`
	// ReversalRate is Reversed/Applied, absent when nothing was applied.
	ReversalRate *float64 `json:"reversal_rate"`
}

// EnforcementReport counts applied enforcements by action and by policy
// area, with reversal rates.
type EnforcementReport struct {
	From         *time.Time         `json:"from,omitempty"`
	To           *time.Time         `json:"to,omitempty"`
	Total        EnforcementCount   `json:"total"`
	ByAction     []EnforcementCount `json:"by_action"`
	ByPolicyArea []EnforcementCount `json:"by_policy_area"`
}

// EnforcementReport counts the enforcements applied in [from, to) (a zero
// bound is open) from the index's decision documents, and how many of them
// were reversed since (by when they were applied, not when reversed). It
// counts what u may count (search.Searcher.Tally: the roles that read
// reports), as the dashboard does; no case is named.
func (s *Service) EnforcementReport(ctx context.Context, u *auth.User, idx DecisionIndex, from, to time.Time) (EnforcementReport, error) {
	facets := map[string]search.Facet{"action": {Field: "tag", Size: 20}, "area": {Field: "policy_area", Size: 500}}
	tally := func(tag string) (search.Tallied, error) {
		t := search.Tally{Types: []string{search.TypeDecision}, Terms: map[string][]string{"tag": {tag}}, Facets: facets}
		if !from.IsZero() || !to.IsZero() {
			t.Ranges = []search.Range{{Field: "created_at", From: from, To: to}}
		}
		return idx.Tally(ctx, u, t)
	}
	applied, err := tally(DecisionEnforcement)
	if err != nil {
		return EnforcementReport{}, err
	}
	reversed, err := tally(search.TagReversed) // only applied enforcements are ever reversed
	if err != nil {
		return EnforcementReport{}, err
	}
	rep := EnforcementReport{Total: countOf("", int(applied.Total), int(reversed.Total)), ByAction: []EnforcementCount{}, ByPolicyArea: []EnforcementCount{}}
	if !from.IsZero() {
		rep.From = &from
	}
	if !to.IsZero() {
		rep.To = &to
	}
	byTerm := func(name string, keep func(string) bool) []EnforcementCount {
		rev := map[string]int{}
		for _, f := range reversed.Facets[name] {
			rev[f.Term] = f.Count
		}
		out := []EnforcementCount{}
		for _, f := range applied.Facets[name] {
			if keep(f.Term) {
				out = append(out, countOf(f.Term, f.Count, rev[f.Term]))
			}
		}
		// Most applied first, then by name: a stable order for CSV.
		slices.SortStableFunc(out, func(a, b EnforcementCount) int {
			if a.Applied != b.Applied {
				return b.Applied - a.Applied
			}
			return strings.Compare(a.Key, b.Key)
		})
		return out
	}
	rep.ByAction = byTerm("action", func(t string) bool { return Action(t).Valid() })
	rep.ByPolicyArea = byTerm("area", func(t string) bool { return t != "" })
	return rep, nil
}

func countOf(key string, applied, reversed int) EnforcementCount {
	c := EnforcementCount{Key: key, Applied: applied, Reversed: reversed}
	if applied > 0 {
		r := float64(reversed) / float64(applied)
		c.ReversalRate = &r
	}
	return c
}
