package demo

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/wire"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/rca/risk"
)

// Summary counts what Seed made.
type Summary struct {
	Users               map[auth.Role]int
	Cases               int
	CasesByStatus       map[cases.Status]int
	Restricted          int
	Enforcements        map[cases.EnforcementStatus]int
	Incidents           int
	RootCauseCategories map[rca.Category]int
	ActionItems         map[rca.ActionItemStatus]int
	Postmortems         map[rca.PostmortemStatus]int
	Risks               int
	QAReviews           int
	// Steps is how many planned steps ran (each one or a few service calls).
	Steps int
	Took  time.Duration
}

// Seed makes the dataset with the services s, whose clock is clock: it
// creates every Cast member with passwords[username], then runs the
// planned steps in time order, setting the clock to each step's time.
// progress (nil: none) gets a line at every tenth of the way. It ends by
// catching the search index up, so s may be built with
// wire.Config.BulkLoad (which makes seeding several times faster). Seed
// stops at the first error; the store then holds a partial dataset.
func Seed(ctx context.Context, s *wire.Services, clock *fakeclock.Clock, cfg Config, passwords map[string]string, progress io.Writer) (Summary, error) {
	if err := cfg.Validate(); err != nil {
		return Summary{}, err
	}
	if progress == nil {
		progress = io.Discard
	}
	began := time.Now()
	sd := newSeeder(cfg)
	sd.s, sd.clock = s, clock

	// The team was hired well before the history starts, so that QA's
	// new-decider rule samples nobody just for being new.
	clock.Set(sd.start.AddDate(0, 0, -60))
	for _, m := range Cast {
		pw, ok := passwords[m.Username]
		if !ok {
			return Summary{}, fmt.Errorf("demo: no password for %s", m.Username)
		}
		u, err := s.Auth.CreateUser(ctx, &auth.System, auth.NewUser{Username: m.Username, DisplayName: m.DisplayName, Role: m.Role,
			Team: m.Team, Vendor: m.Vendor, Password: pw}, auth.Meta{})
		if err != nil {
			return Summary{}, fmt.Errorf("demo: user %s: %w", m.Username, err)
		}
		*sd.users[m.Username] = u
		sd.sum.Users[m.Role]++
	}
	sd.plan()
	end := sd.end
	fmt.Fprintf(progress, "seeding: %d users, %d cases, %d incidents, %d risks: %d steps from %s to %s\n",
		len(Cast), cfg.Cases, cfg.Incidents, cfg.Risks, len(sd.events), sd.start.Format("2006-01-02"), end.Format("2006-01-02"))
	next := 1
	for i, ev := range sd.events {
		if err := ctx.Err(); err != nil {
			return sd.sum, err
		}
		clock.Set(ev.at)
		if err := ev.do(ctx); err != nil {
			return sd.sum, fmt.Errorf("demo: step %d (%s at %s): %w", i+1, ev.what, ev.at.Format(time.RFC3339), err)
		}
		sd.sum.Steps++
		if done := (i + 1) * 10 / len(sd.events); done >= next {
			fmt.Fprintf(progress, "seeding: %3d%% (%d/%d steps) in %s\n", done*10, i+1, len(sd.events), time.Since(began).Round(100*time.Millisecond))
			next = done + 1
		}
	}
	clock.Set(end)
	// With wire.Config.BulkLoad nothing was indexed yet: index it all now,
	// in the feed's batches.
	if _, err := s.Feed.CatchUp(ctx); err != nil {
		return sd.sum, fmt.Errorf("demo: indexing: %w", err)
	}
	if err := sd.count(ctx); err != nil {
		return sd.sum, err
	}
	sd.sum.Took = time.Since(began)
	return sd.sum, nil
}

// newSeeder prepares to seed cfg. Its users are the Cast, filled in
// when they are created.
func newSeeder(cfg Config) *seeder {
	end := cfg.End.UTC().Truncate(time.Minute)
	sd := &seeder{cfg: cfg, end: end, start: end.AddDate(0, 0, -cfg.Days),
		r:     rand.New(rand.NewPCG(uint64(cfg.Seed), 0x636173656669_6c65)),
		users: map[string]*auth.User{}, meta: auth.Meta{IP: "demo", RequestID: "demo-seed"},
		sum: Summary{Users: map[auth.Role]int{}, CasesByStatus: map[cases.Status]int{}, Enforcements: map[cases.EnforcementStatus]int{},
			RootCauseCategories: map[rca.Category]int{}, ActionItems: map[rca.ActionItemStatus]int{}, Postmortems: map[rca.PostmortemStatus]int{}}}
	for _, m := range Cast {
		sd.users[m.Username] = &auth.User{Username: m.Username, DisplayName: m.DisplayName, Role: m.Role, Team: m.Team, Vendor: m.Vendor}
	}
	return sd
}

// plan draws every step, in time order. It draws from the seeded source
// only, so the same Config plans the same steps.
func (sd *seeder) plan() {
	sd.planCases()
	sd.planIncidents()
	sd.planRisks()
	sd.planQA()
	slices.SortStableFunc(sd.events, func(a, b event) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.n, b.n))
	})
}

// event is one planned step.
type event struct {
	at   time.Time
	n    int // planning order, to break ties
	what string
	do   func(ctx context.Context) error
}

type seeder struct {
	s          *wire.Services
	clock      *fakeclock.Clock
	cfg        Config
	r          *rand.Rand
	start, end time.Time
	users      map[string]*auth.User
	meta       auth.Meta
	events     []event
	cases      []*caseRun
	incidents  []*incidentRun
	sum        Summary
}

// at plans a step at t, unless t is past the end of the history; it
// reports whether it did, so that a chain of steps stops where the
// present is.
func (sd *seeder) at(t time.Time, what string, do func(ctx context.Context) error) bool {
	t = t.UTC().Truncate(time.Millisecond)
	if t.After(sd.end) {
		return false
	}
	sd.events = append(sd.events, event{at: t, n: len(sd.events), what: what, do: do})
	return true
}

// Random helpers, all drawing from the one seeded source.

func (sd *seeder) pick(vals []string) string { return vals[sd.r.IntN(len(vals))] }

func (sd *seeder) chance(p float64) bool { return sd.r.Float64() < p }

// between is a duration drawn uniformly from [lo, hi).
func (sd *seeder) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(sd.r.Int64N(int64(hi-lo)))
}

// weighted picks vals[i] with probability weights[i]/sum.
func (sd *seeder) weighted(vals []string, weights []int) string {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := sd.r.IntN(total)
	for i, w := range weights {
		if n < w {
			return vals[i]
		}
		n -= w
	}
	return vals[len(vals)-1]
}

// fill replaces the slots of a template.
func (sd *seeder) fill(tmpl, handle, region string) string {
	return strings.NewReplacer("{handle}", handle, "{region}", region, "{n}", fmt.Sprint(3+sd.r.IntN(60)),
		"{product}", sd.pick(products)).Replace(tmpl)
}

func (sd *seeder) members(role auth.Role, team, vendor string) []*auth.User {
	var out []*auth.User
	for _, m := range Cast {
		if m.Role == role && (team == "" || m.Team == team) && (vendor == "" || m.Vendor == vendor) {
			out = append(out, sd.users[m.Username])
		}
	}
	return out
}

func (sd *seeder) one(role auth.Role, team, vendor string) *auth.User {
	ms := sd.members(role, team, vendor)
	return ms[sd.r.IntN(len(ms))]
}

// leadOf is the lead of team, or the other lead when that one is not u.
func (sd *seeder) leadOf(team string, not *auth.User) *auth.User {
	for _, l := range sd.members(auth.RoleLead, team, "") {
		if not == nil || l.Username != not.Username {
			return l
		}
	}
	for _, l := range sd.members(auth.RoleLead, "", "") {
		if not == nil || l.Username != not.Username {
			return l
		}
	}
	panic("demo: the cast has fewer than two leads")
}

// ---- cases ----

// caseRun is a case as planned, and what its steps learn as they run.
type caseRun struct {
	created                    time.Time
	areas                      []string
	team, vendor               string
	restricted                 bool
	creator, assignee          *auth.User
	id, key                    string // service calls name cases by id: one lookup fewer than by key
	eid                        string // the enforcement in flight
	proposer                   *auth.User
	needsApproval, departed    bool
	reject                     bool
	severity                   cases.Severity
	handle, regionName, region string
	status                     cases.Status // as of the last step run
}

var (
	// areaWeights: how often each policy area comes up.
	areaNames   = []string{"fraud_scam", "spam", "fake_reviews", "fraudulent_merchant", "fake_engagement", "harassment", "impersonation", "hate_speech", "misinformation", "ip_infringement", "regulated_goods", "privacy", "self_harm", "violent_extremism", "child_safety"}
	areaWeights = []int{18, 14, 10, 9, 8, 10, 6, 5, 5, 4, 3, 3, 2, 2, 1}
	severities  = []string{"sev1", "sev2", "sev3", "sev4"}
	triageDue   = map[cases.Severity]time.Duration{"sev1": time.Hour, "sev2": 4 * time.Hour, "sev3": 24 * time.Hour, "sev4": 72 * time.Hour}
	resolveDue  = map[cases.Severity]time.Duration{"sev1": 24 * time.Hour, "sev2": 72 * time.Hour, "sev3": 7 * 24 * time.Hour, "sev4": 14 * 24 * time.Hour}
	proactive   = []string{"automated_detection", "proactive_sweep", "risk_discovery"}
	reactive    = []string{"user_report", "user_report", "user_report", "internal_escalation", "partner", "regulator", "press"}
	tagNames    = []string{"repeat_offender", "high_value", "press", "regulator", "cross_border", "automation"}
)

// actorPool is the actors cases are about; a few reoffend often (the
// draw is skewed), so strikes accumulate and the ladder climbs.
func (sd *seeder) actorPool() []cases.ActorRef {
	n := max(12, sd.cfg.Cases*2/3)
	pool := make([]cases.ActorRef, n)
	for i := range pool {
		reg := regions[sd.r.IntN(len(regions))]
		kind := cases.ActorKind([]string{"user", "creator", "merchant"}[sd.r.IntN(3)])
		pool[i] = cases.ActorRef{ActorID: fmt.Sprintf("%s-%05d", string(kind)[:1], 10000+i*7),
			Handle: fmt.Sprintf("%s%s%02d", sd.pick(handleFirst), sd.pick(handleSecond), i%100), Kind: kind, Region: reg.code}
	}
	return pool
}

func (sd *seeder) planCases() {
	pool := sd.actorPool()
	skew := rand.NewZipf(sd.r, 1.3, 4, uint64(len(pool)-1))
	window := sd.end.Sub(sd.start) - time.Hour
	week := 7 * 24 * time.Hour
	for i := range sd.cfg.Cases {
		// A fifth of the cases came in during the last week: the queues
		// have work in every state.
		created := sd.start.Add(time.Duration(sd.r.Int64N(int64(window))))
		if sd.chance(0.2) {
			created = sd.end.Add(-week + time.Duration(sd.r.Int64N(int64(week-time.Hour))))
		}
		c := &caseRun{created: created}
		sd.cases = append(sd.cases, c)
		area := sd.weighted(areaNames, areaWeights)
		c.areas = []string{area}
		def := areas[area]
		c.team = def.team
		if sd.chance(0.2) {
			var same []string
			for _, a := range areaNames {
				if a != area && a != "child_safety" && areas[a].team == c.team {
					same = append(same, a)
				}
			}
			c.areas = append(c.areas, sd.pick(same))
		}
		if def.vendor != "" && sd.chance(0.45) {
			c.vendor = def.vendor
		}
		c.restricted = area == "child_safety" || (c.vendor == "" && sd.chance(0.03))
		c.severity = cases.Severity(sd.weighted(severities, []int{5, 20, 50, 25}))
		if area == "child_safety" || area == "violent_extremism" {
			c.severity = cases.Severity(sd.weighted(severities[:2], []int{1, 1}))
		}
		actor := pool[skew.Uint64()]
		reg := regions[slices.IndexFunc(regions, func(r struct{ code, name string }) bool { return r.code == actor.Region })]
		c.handle, c.region, c.regionName = actor.Handle, reg.code, reg.name
		unassigned := false
		switch {
		case c.vendor != "":
			c.creator, c.assignee = sd.leadOf(c.team, nil), sd.one(auth.RoleVendorAgent, "", c.vendor)
		default:
			c.assignee = sd.one(auth.RoleInvestigator, c.team, "")
			c.creator = c.assignee
			if sd.chance(0.25) {
				c.creator = sd.leadOf(c.team, nil)
				unassigned = !c.restricted && sd.chance(0.4)
			}
		}
		sourceKind, channel := "reactive", sd.pick(reactive)
		if sd.chance(0.4) {
			sourceKind, channel = "proactive", sd.pick(proactive)
		}
		var tags []string
		if sd.chance(0.3) {
			tags = []string{sd.pick(tagNames)}
		}
		text := def.text
		nc := cases.NewCase{Title: sd.fill(sd.pick(text.titles), actor.Handle, reg.name), Summary: sd.fill(sd.pick(text.summaries), actor.Handle, reg.name),
			Actor: actor, PolicyAreas: c.areas, Severity: c.severity, SourceKind: sourceKind, SourceChannel: channel, Team: c.team, Vendor: c.vendor,
			Restricted: c.restricted, Tags: tags}
		if !unassigned {
			nc.Assignee = c.assignee.Username
		}
		sd.planCase(i, c, nc, unassigned)
	}
}

// planCase plans one case's life: filed, evidence, triage, investigation
// and notes, then a verdict with an enforcement through its lifecycle (or
// none), review and closing. Steps that would fall after the end are not
// planned, which leaves the newest cases open.
func (sd *seeder) planCase(i int, c *caseRun, nc cases.NewCase, unassigned bool) {
	name := fmt.Sprintf("case %d", i+1)
	text := areas[c.areas[0]].text
	t := c.created
	if !sd.at(t, name+": file", func(ctx context.Context) error {
		kc, _, err := sd.s.Cases.Create(ctx, c.creator, nc, "", sd.meta)
		c.id, c.key, c.status = kc.ID, kc.Key, kc.Status
		return err
	}) {
		return
	}
	worker := c.assignee
	if unassigned {
		worker = c.creator
	}
	for k := range 1 + sd.r.IntN(2) {
		ev := text.evidence[sd.r.IntN(len(text.evidence))]
		ref := fmt.Sprintf("%s:%d", ev.kind, 100000+sd.r.IntN(900000))
		desc := sd.fill(ev.description, c.handle, c.regionName)
		captured := t.Add(-sd.between(time.Hour, 72*time.Hour))
		sd.at(t.Add(sd.between(2*time.Minute, 20*time.Minute)+time.Duration(k)*time.Hour), name+": evidence", func(ctx context.Context) error {
			_, err := sd.s.Cases.AddEvidence(ctx, worker, c.id, cases.NewEvidence{Kind: ev.kind, Ref: ref, Description: desc,
				FlaggedReason: ev.reason, CapturedAt: &captured}, cases.DefaultMaxAttachment, sd.meta)
			return err
		})
	}
	// Triage within the SLA mostly; about one in eight breaches it.
	factor := 0.15 + 0.75*sd.r.Float64()
	if sd.chance(0.12) {
		factor = 1.1 + 2*sd.r.Float64()
	}
	t = c.created.Add(time.Duration(float64(triageDue[c.severity]) * factor))
	if !sd.at(t, name+": triage", func(ctx context.Context) error { return sd.move(ctx, worker, c, cases.StatusTriage, "") }) {
		return
	}
	if unassigned {
		t = t.Add(sd.between(time.Minute, 30*time.Minute))
		if !sd.at(t, name+": taken", func(ctx context.Context) error {
			self := c.assignee.Username
			_, err := sd.s.Cases.Update(ctx, c.assignee, c.id, 0, cases.Patch{Assignee: &self}, sd.meta)
			return err
		}) {
			return
		}
	}
	t = t.Add(sd.between(5*time.Minute, time.Hour))
	if sd.chance(0.2) {
		t = t.Add(sd.between(24*time.Hour, 72*time.Hour)) // a backlog
	}
	if !sd.at(t, name+": investigate", func(ctx context.Context) error {
		return sd.move(ctx, c.assignee, c, cases.StatusInvestigating, "")
	}) {
		return
	}
	resolve := resolveDue[c.severity]
	for range sd.r.IntN(3) {
		note := sd.fill(sd.pick(text.notes), c.handle, c.regionName)
		sd.at(t.Add(time.Duration(float64(resolve)*0.3*sd.r.Float64())), name+": note", func(ctx context.Context) error {
			_, err := sd.s.Cases.AddNote(ctx, c.assignee, c.id, note, sd.meta)
			return err
		})
	}
	if sd.chance(0.08) {
		return // stalled: waiting on a partner, long past its SLA
	}
	factor = 0.3 + 0.5*sd.r.Float64()
	if sd.chance(0.12) {
		factor = 1.05 + sd.r.Float64()
	}
	t = maxTime(t.Add(time.Hour), c.created.Add(time.Duration(float64(resolve)*factor)))
	violation := sd.chance(0.7)
	verdict := cases.VerdictViolation
	findings := sd.fill(sd.pick(text.findings), c.handle, c.regionName)
	if !violation {
		verdict = cases.VerdictNoViolation
		if sd.chance(0.3) {
			verdict = cases.VerdictInsufficientEvidence
		}
		findings = "The reported content does not break the policy on review; no further action."
	}
	behaviors := []cases.Behavior{{Text: sd.pick(text.behaviors)}}
	if !sd.at(t, name+": verdict", func(ctx context.Context) error {
		p := cases.Patch{Findings: &findings, Verdict: &verdict}
		if violation {
			p.Behaviors = &behaviors
		}
		_, err := sd.s.Cases.Update(ctx, c.assignee, c.id, 0, p, sd.meta)
		return err
	}) {
		return
	}
	if !violation {
		t = t.Add(sd.between(5*time.Minute, 2*time.Hour))
		if sd.at(t, name+": no violation", func(ctx context.Context) error {
			return sd.move(ctx, c.assignee, c, cases.StatusNoViolation, "No violation found")
		}) {
			sd.at(t.Add(sd.between(12*time.Hour, 48*time.Hour)), name+": close", func(ctx context.Context) error {
				return sd.move(ctx, c.assignee, c, cases.StatusClosed, "")
			})
		}
		return
	}
	sd.planEnforcement(name, c, t)
}

// planEnforcement: propose (following the ladder, or departing from it
// with a justification now and then), approval by a lead where needed
// (a few departures are rejected and proposed again by the ladder),
// apply, review and close; a few are reversed on appeal later.
func (sd *seeder) planEnforcement(name string, c *caseRun, t time.Time) {
	depart := sd.chance(0.1)
	c.reject = depart && sd.chance(0.3)
	reason := sd.fill(sd.pick(areas[c.areas[0]].text.findings), c.handle, c.regionName)
	t = t.Add(sd.between(5*time.Minute, 30*time.Minute))
	if !sd.at(t, name+": propose", func(ctx context.Context) error { return sd.propose(ctx, c, depart, reason) }) {
		return
	}
	t = t.Add(sd.between(time.Hour, 6*time.Hour))
	if !sd.at(t, name+": approve", func(ctx context.Context) error { return sd.approve(ctx, c, reason) }) {
		return
	}
	t = t.Add(sd.between(10*time.Minute, time.Hour))
	if !sd.at(t, name+": apply", func(ctx context.Context) error {
		if c.needsApproval { // proposed again after a rejection
			if err := sd.approve(ctx, c, reason); err != nil {
				return err
			}
		}
		return sd.enforced(sd.s.Cases.Decide(ctx, c.proposer, c.id, c.eid, cases.Apply, "", sd.meta))
	}) {
		return
	}
	applied := t
	t = t.Add(sd.between(5*time.Minute, 30*time.Minute))
	if !sd.at(t, name+": review", func(ctx context.Context) error {
		return sd.move(ctx, c.assignee, c, cases.StatusPendingReview, "Enforcement applied; ready for review")
	}) {
		return
	}
	lead := sd.leadOf(c.team, nil)
	t = t.Add(sd.between(time.Hour, 8*time.Hour))
	if sd.chance(0.25) {
		t = t.Add(sd.between(24*time.Hour, 72*time.Hour)) // the lead was busy
	}
	if !sd.at(t, name+": actioned", func(ctx context.Context) error { return sd.move(ctx, lead, c, cases.StatusActioned, "") }) {
		return
	}
	sd.at(t.Add(sd.between(12*time.Hour, 48*time.Hour)), name+": close", func(ctx context.Context) error {
		return sd.move(ctx, c.assignee, c, cases.StatusClosed, "")
	})
	if sd.chance(0.05) {
		appeal := sd.pick([]string{"Appeal granted: the account was compromised at the time.", "Appeal granted: the content was satire, on second review.",
			"Appeal granted: evidence pointed at a different account."})
		sd.at(applied.Add(sd.between(3*24*time.Hour, 12*24*time.Hour)), name+": reverse on appeal", func(ctx context.Context) error {
			return sd.enforced(sd.s.Cases.Decide(ctx, sd.leadOf(c.team, nil), c.id, c.eid, cases.Reverse, appeal, sd.meta))
		})
	}
}

// move transitions c as u.
func (sd *seeder) move(ctx context.Context, u *auth.User, c *caseRun, to cases.Status, reason string) error {
	_, err := sd.s.Cases.Transition(ctx, u, c.id, 0, to, reason, sd.meta)
	if err == nil {
		c.status = to
	}
	return err
}

// enforced counts an enforcement step taken.
func (sd *seeder) enforced(e cases.Enforcement, err error) error {
	if err == nil {
		sd.sum.Enforcements[e.Status]++
	}
	return err
}

// propose proposes what the ladder recommends, or departs from it with a
// justification; vendor agents propose content removal where the ladder
// asks for more than they may propose.
func (sd *seeder) propose(ctx context.Context, c *caseRun, depart bool, reason string) error {
	c.proposer = c.assignee
	rec, err := sd.s.Cases.Recommend(ctx, c.proposer, c.id, "")
	if err != nil {
		return err
	}
	p := cases.Proposal{Action: rec.Action, Duration: rec.Duration, Reason: reason}
	vendorLimited := c.vendor != "" && rec.Action != cases.Warning && rec.Action != cases.ContentRemoval
	switch {
	case vendorLimited:
		p = cases.Proposal{Action: cases.ContentRemoval, Reason: reason,
			Justification: "Vendor agents may only remove content; the ladder asks for more, so a lead should decide."}
	case depart && rec.Action == cases.Warning:
		p = cases.Proposal{Action: cases.ContentRemoval, Reason: reason, Justification: "The content is still up and harms the people it targets."}
	case depart:
		p = cases.Proposal{Action: cases.Warning, Reason: reason, Justification: "First contact with this account; a warning should be enough."}
	}
	c.departed = depart || vendorLimited
	if p.Action == cases.FeatureRestriction {
		p.Features = []string{sd.pick(features)}
	}
	e, err := sd.s.Cases.Propose(ctx, c.proposer, c.id, p, sd.meta)
	c.eid, c.needsApproval = e.ID, e.Status == cases.Proposed
	if err == nil {
		sd.sum.Enforcements[cases.Proposed]++
	}
	return err
}

// approve has a lead decide a proposal waiting for one: approve, or
// reject a departure that was planned to be rejected and propose the
// ladder's recommendation instead.
func (sd *seeder) approve(ctx context.Context, c *caseRun, reason string) error {
	if !c.needsApproval {
		return nil
	}
	lead := sd.leadOf(c.team, c.proposer)
	if c.reject && c.departed {
		c.reject = false
		if err := sd.enforced(sd.s.Cases.Decide(ctx, lead, c.id, c.eid, cases.Reject, "Follow the ladder: the actor's history calls for it.", sd.meta)); err != nil {
			return err
		}
		if c.vendor != "" {
			// The lead proposes what the vendor agent may not.
			c.assignee = lead
		}
		return sd.propose(ctx, c, false, reason)
	}
	if err := sd.enforced(sd.s.Cases.Decide(ctx, lead, c.id, c.eid, cases.Approve, "", sd.meta)); err != nil {
		return err
	}
	c.needsApproval = false
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ---- incidents, RCAs, postmortems ----

type incidentRun struct {
	theme                                 incidentTheme
	severity                              rca.Severity
	started, detected, mitigated, resolve time.Time
	creator                               *auth.User
	id, key                               string
	region                                struct{ code, name string }
}

func (sd *seeder) planIncidents() {
	window := sd.end.Sub(sd.start) - 48*time.Hour
	for j := range sd.cfg.Incidents {
		in := &incidentRun{theme: themes[sd.r.IntN(len(themes))], region: regions[sd.r.IntN(len(regions))]}
		if j < len(themes) {
			in.theme = themes[j] // every theme at least once
		}
		in.severity = rca.Severity(sd.weighted([]string{"sev0", "sev1", "sev2", "sev3"}, []int{5, 25, 45, 25}))
		in.started = sd.start.Add(time.Duration(sd.r.Int64N(int64(window))))
		in.detected = in.started.Add(sd.between(10*time.Minute, 8*time.Hour))
		in.mitigated = in.detected.Add(sd.between(time.Hour, 36*time.Hour))
		in.resolve = in.mitigated.Add(sd.between(2*time.Hour, 4*24*time.Hour))
		team := areas[in.theme.area].team
		in.creator = sd.one(auth.RoleInvestigator, team, "")
		linkLead := sd.chance(0.3)
		if linkLead {
			in.creator = sd.leadOf(team, nil)
		}
		sd.incidents = append(sd.incidents, in)
		sd.planIncident(j, in, linkLead)
	}
	sd.planPostmortems()
}

func (sd *seeder) planIncident(j int, in *incidentRun, link bool) {
	name := fmt.Sprintf("incident %d", j+1)
	th := in.theme
	var linked []*caseRun
	if link {
		for _, c := range sd.cases {
			if c.created.Before(in.started) && slices.Contains(c.areas, th.area) && len(linked) < 2 && sd.chance(0.5) {
				linked = append(linked, c)
			}
		}
	}
	title := th.title + " (" + in.region.name + ")"
	impact := rca.Impact{Text: th.impact, AffectedActors: int64(20 + sd.r.IntN(2000)), ExposureCount: int64(500 + sd.r.IntN(90000)),
		Regions: []string{in.region.code}}
	started, detected := in.started, in.detected
	if !sd.at(in.detected, name+": open", func(ctx context.Context) error {
		var keys []string
		for _, c := range linked {
			keys = append(keys, c.key)
		}
		inc, err := sd.s.RCA.CreateIncident(ctx, in.creator, rca.NewIncident{Kind: rca.KindIncident, Title: title, Severity: in.severity,
			Status: rca.Investigating, StartedAt: started, DetectedAt: &detected, Detection: th.detection, Impact: impact,
			Owner: in.creator.Username, LinkedCases: keys}, sd.meta)
		in.id, in.key = inc.ID, inc.Key
		return err
	}) {
		return
	}
	for _, step := range []struct {
		at     time.Time
		status rca.Status
	}{{in.mitigated, rca.Mitigated}, {in.resolve, rca.Resolved}} {
		at, status := step.at, step.status
		if !sd.at(at, name+": "+string(status), func(ctx context.Context) error {
			cur, err := sd.s.RCA.GetIncident(ctx, in.creator, in.id)
			if err != nil {
				return err
			}
			p := rca.IncidentPatch{Status: &status}
			if status == rca.Mitigated {
				p.MitigatedAt = &at
			} else {
				p.ResolvedAt = &at
			}
			_, err = sd.s.RCA.UpdateIncident(ctx, in.creator, in.id, cur.Version, p, sd.meta)
			return err
		}) {
			break
		}
	}

	// The RCA: a rotation of the theme's causes, so that the categories
	// are spread (the first incident has all three).
	k := 1 + sd.r.IntN(len(th.causes))
	if j == 0 {
		k = len(th.causes)
	}
	var causes []rca.RootCause
	var picked []int
	for n := range k {
		ci := (j + n) % len(th.causes)
		ct := th.causes[ci]
		rc := rca.RootCause{Description: ct.text, Category: rca.Category(ct.category), Subcategory: ct.subcategory}
		if ct.vendor {
			rc.Vendor = areas[th.area].vendor
		}
		causes = append(causes, rc)
		picked = append(picked, ci)
	}
	var gaps []rca.MitigationGap
	for _, g := range th.gaps {
		gaps = append(gaps, rca.MitigationGap{Mitigation: g[0], Why: g[1]})
	}
	analysis := rca.RCA{ProblemStatement: th.problem, RootCauses: causes, ContributingFactors: th.factors, MitigationGaps: gaps}
	t := in.detected.Add(sd.between(24*time.Hour, 72*time.Hour))
	if !sd.at(t, name+": rca", func(ctx context.Context) error {
		_, err := sd.s.RCA.PutRCA(ctx, in.creator, in.id, 0, analysis, sd.meta)
		return err
	}) {
		return
	}
	// Action items: one per root cause found, from the theme.
	type plannedItem struct {
		in     rca.NewActionItem
		status rca.ActionItemStatus
		at     time.Time
	}
	var items []plannedItem
	team := areas[th.area].team
	for n, ci := range picked {
		it := th.items[ci]
		due := t.Add(sd.between(7*24*time.Hour, 35*24*time.Hour))
		idx := n
		owner := sd.one(auth.RoleInvestigator, team, "").Username
		if sd.chance(0.3) {
			owner = sd.leadOf(team, nil).Username
		}
		st := rca.ActionItemStatus(sd.weighted([]string{"open", "in_progress", "done", "wont_do"}, []int{25, 25, 40, 10}))
		items = append(items, plannedItem{in: rca.NewActionItem{Title: it.title, Owner: owner, Due: &due, Kind: it.kind, RootCause: &idx},
			status: st, at: t.Add(sd.between(2*24*time.Hour, 20*24*time.Hour))})
	}
	if !sd.at(t.Add(10*time.Minute), name+": action items", func(ctx context.Context) error {
		for _, it := range items {
			if _, err := sd.s.RCA.AddActionItem(ctx, in.creator, in.id, it.in, sd.meta); err != nil {
				return err
			}
		}
		return nil
	}) {
		return
	}
	for n, it := range items {
		if it.status == rca.ItemOpen {
			continue
		}
		status := it.status
		sd.at(it.at, name+": action item "+string(status), func(ctx context.Context) error {
			_, err := sd.s.RCA.UpdateActionItem(ctx, in.creator, in.id, n+1, 0, rca.ActionItemPatch{Status: &status}, sd.meta)
			return err
		})
	}
}

// planPostmortems takes the gravest resolved incidents' postmortems
// through review to publication (resolved, then written, commented,
// submitted, approved by a lead who did not write it, published), and
// leaves a few more in draft and in review.
func (sd *seeder) planPostmortems() {
	idx := make([]int, len(sd.incidents))
	for i := range idx {
		idx[i] = i
	}
	grave := func(s rca.Severity) int { return slices.Index(rca.Severities, s) }
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Compare(grave(sd.incidents[a].severity), grave(sd.incidents[b].severity))
	})
	published, extra := 0, 0
	for _, i := range idx {
		in := sd.incidents[i]
		stage := rca.Published
		switch {
		case in.resolve.Add(7*24*time.Hour).After(sd.end) || published >= sd.cfg.Postmortems:
			if extra >= 4 || in.resolve.Add(24*time.Hour).After(sd.end) {
				continue
			}
			stage = []rca.PostmortemStatus{rca.Draft, rca.InReview}[extra%2]
			extra++
		default:
			published++
		}
		sd.planPostmortem(i, in, stage)
	}
}

func (sd *seeder) planPostmortem(i int, in *incidentRun, stage rca.PostmortemStatus) {
	name := fmt.Sprintf("incident %d: postmortem", i+1)
	th := in.theme
	team := areas[th.area].team
	author := in.creator
	if author.Role != auth.RoleInvestigator {
		author = sd.one(auth.RoleInvestigator, team, "")
	}
	lead := sd.leadOf(team, nil)
	var timeline []rca.TimelineItem
	span := in.resolve.Sub(in.started)
	for n, e := range th.timeline {
		at := in.started.Add(span * time.Duration(n) / time.Duration(len(th.timeline)))
		timeline = append(timeline, rca.TimelineItem{At: at.Truncate(time.Minute), Event: e})
	}
	content := rca.Content{
		Summary: fmt.Sprintf("%s. %s", strings.TrimSuffix(th.problem, "."), th.impact), Impact: th.impact, Timeline: timeline,
		Detection: th.detection, Response: th.response, WhatWentWell: th.wentWell, WhatWentWrong: th.wentWrong,
		WhereWeGotLucky: th.lucky, Lessons: th.lessons,
		Body: "## Root causes\n\n" + func() string {
			var b strings.Builder
			for _, c := range th.causes {
				fmt.Fprintf(&b, "- **%s / %s**: %s\n", c.category, strings.ReplaceAll(c.subcategory, "_", " "), c.text)
			}
			return b.String()
		}(),
	}
	t := in.resolve.Add(sd.between(12*time.Hour, 24*time.Hour))
	steps := []struct {
		after time.Duration
		what  string
		do    func(ctx context.Context) error
	}{
		{0, "draft", func(ctx context.Context) error {
			_, _, err := sd.s.RCA.PutPostmortem(ctx, author, in.id, 0, content, sd.meta)
			return err
		}},
		{time.Hour, "review comment", func(ctx context.Context) error {
			_, err := sd.s.RCA.Comment(ctx, lead, in.id, "Can we say more about why the first signal was missed?", sd.meta)
			return err
		}},
		{24 * time.Hour, "submit", func(ctx context.Context) error {
			_, err := sd.s.RCA.Step(ctx, author, in.id, rca.Submit, false, sd.meta)
			return err
		}},
		{2 * 24 * time.Hour, "approve", func(ctx context.Context) error {
			_, err := sd.s.RCA.Step(ctx, lead, in.id, rca.Approve, false, sd.meta)
			return err
		}},
		{2*24*time.Hour + time.Hour, "publish", func(ctx context.Context) error {
			// No acknowledgement: the demo's text must pass the PII check.
			_, err := sd.s.RCA.Step(ctx, lead, in.id, rca.Publish, false, sd.meta)
			return err
		}},
	}
	last := map[rca.PostmortemStatus]string{rca.Draft: "review comment", rca.InReview: "submit", rca.Published: "publish"}[stage]
	for _, s := range steps {
		if !sd.at(t.Add(s.after), name+" "+s.what, s.do) || s.what == last {
			return
		}
	}
}

// ---- risks ----

type riskTemplate struct {
	title, description string
	areas              []string
	changes            []risk.NewChange
}

var riskTemplates = []riskTemplate{
	{"Refund scams moving to livestream shopping", "Scam sellers take orders during live shopping streams and vanish before delivery.",
		[]string{"fraud_scam", "fraudulent_merchant"}, []risk.NewChange{{Title: "Hold payouts for new live sellers", Category: rca.Product},
			{Title: "Add live shopping to the fraud SOP", Category: rca.Process}}},
	{"Review rings using aged accounts", "Review sellers buy old, dormant accounts so that their reviews pass the new-account checks.",
		[]string{"fake_reviews", "fake_engagement"}, []risk.NewChange{{Title: "Score dormant-then-active accounts", Category: rca.Product}}},
	{"Harassment organised off-platform", "Raids on creators are planned in outside groups and arrive all at once.",
		[]string{"harassment", "hate_speech"}, []risk.NewChange{{Title: "Define coordinated harassment in the policy", Category: rca.Policy},
			{Title: "Let vendor agents escalate raids directly", Category: rca.Process}}},
	{"Synthetic voices spreading voting misinformation", "Videos use generated voices of officials to give wrong voting dates.",
		[]string{"misinformation"}, []risk.NewChange{{Title: "Cover synthetic media in the civic policy", Category: rca.Policy}}},
	{"Counterfeits branded only in photos", "Listings avoid brand names in text and show the logo only in photos.",
		[]string{"ip_infringement"}, []risk.NewChange{{Title: "Logo detection on listing photos", Category: rca.Product}}},
	{"Regulated goods sold under emoji codes", "Sellers list regulated goods using emoji codes that keyword filters miss.",
		[]string{"regulated_goods"}, []risk.NewChange{{Title: "Maintain an emoji code glossary", Category: rca.Process}}},
}

func (sd *seeder) planRisks() {
	window := sd.end.Sub(sd.start)
	for k := range sd.cfg.Risks {
		tmpl := riskTemplates[k%len(riskTemplates)]
		t := sd.start.Add(window * time.Duration(k+1) / time.Duration(sd.cfg.Risks+1))
		name := fmt.Sprintf("risk %d", k+1)
		team := areas[tmpl.areas[0]].team
		owner := sd.leadOf(team, nil)
		by := sd.one(auth.RoleInvestigator, team, "")
		var key string
		var version int64
		discovery := risk.Proactive
		if sd.chance(0.4) {
			discovery = risk.Reactive
		}
		if !sd.at(t, name+": register", func(ctx context.Context) error {
			r, err := sd.s.Risks.Create(ctx, by, risk.NewRisk{Title: tmpl.title, Description: tmpl.description, PolicyAreas: tmpl.areas,
				Owner: owner.Username, Discovery: discovery}, sd.meta)
			key, version = r.Key, r.Version
			if err == nil {
				sd.sum.Risks++
			}
			return err
		}) {
			continue
		}
		var linked []*caseRun
		for _, c := range sd.cases {
			if c.created.Before(t) && !c.restricted && c.team == team && slices.Contains(tmpl.areas, c.areas[0]) && len(linked) < 5 {
				linked = append(linked, c)
			}
		}
		var incident *incidentRun
		for _, in := range sd.incidents {
			if in.detected.Before(t) && slices.Contains(tmpl.areas, in.theme.area) {
				incident = in
			}
		}
		sd.at(t.Add(time.Hour), name+": link", func(ctx context.Context) error {
			for _, c := range linked {
				r, err := sd.s.Risks.Link(ctx, by, key, risk.LinkTarget{CaseID: c.id}, 0, sd.meta)
				if err != nil {
					return err
				}
				version = r.Version
			}
			if incident != nil {
				r, err := sd.s.Risks.Link(ctx, by, key, risk.LinkTarget{IncidentID: incident.id}, 0, sd.meta)
				if err != nil {
					return err
				}
				version = r.Version
			}
			for _, ch := range tmpl.changes {
				ch.Owner = owner.Username
				due := t.Add(30 * 24 * time.Hour)
				ch.Due = &due
				_, v, err := sd.s.Risks.AddChange(ctx, owner, key, ch, 0, sd.meta)
				if err != nil {
					return err
				}
				version = v
			}
			return nil
		})
		for n, st := range []risk.Status{risk.Monitoring, risk.Mitigated} {
			if k%3 < n+1 {
				break
			}
			status := st
			sd.at(t.Add(time.Duration(7+18*n)*24*time.Hour), name+": "+string(status), func(ctx context.Context) error {
				r, err := sd.s.Risks.Update(ctx, owner, key, version, risk.Patch{Status: &status}, sd.meta)
				version = r.Version
				return err
			})
		}
	}
}

// ---- quality ----

// planQA has the leads review the week's sampled decisions, most of the
// time agreeing, so that scorecards and trends have data.
func (sd *seeder) planQA() {
	feedback := []string{"The evidence does not show intent; a warning would have been enough.",
		"The case shows a clear violation that the decision missed.", "Wrong policy area: this is impersonation, not spam.",
		"The proposal skipped the evidence check in the SOP."}
	for t := sd.start.Add(14 * 24 * time.Hour); !t.After(sd.end); t = t.Add(7 * 24 * time.Hour) {
		cutoff := t.Add(-24 * time.Hour)
		sd.at(t, "QA reviews", func(ctx context.Context) error {
			lena, luke := sd.users["lena"], sd.users["luke"]
			items, _, err := sd.s.Quality.Queue(ctx, lena, quality.QueueQuery{Status: "pending", Limit: 200})
			if err != nil {
				return err
			}
			for _, it := range items {
				if it.DecidedAt.After(cutoff) || !sd.chance(0.7) {
					continue
				}
				rv := quality.NewReview{DecisionID: it.ID, Verdict: quality.Agree}
				if sd.chance(0.15) {
					rv = quality.NewReview{DecisionID: it.ID, Verdict: quality.Disagree, ErrorType: sd.pick(quality.ErrorTypes),
						Severity: sd.pick([]string{"minor", "minor", "major"}), Feedback: sd.pick(feedback)}
				}
				_, err := sd.s.Quality.Review(ctx, lena, rv, sd.meta)
				if errs.Is(err, errs.Forbidden) { // lena's own decision
					_, err = sd.s.Quality.Review(ctx, luke, rv, sd.meta)
				}
				if err != nil {
					return err
				}
				sd.sum.QAReviews++
			}
			return nil
		})
	}
}

// count fills the summary: cases from what their steps did, incidents
// as the admin reads them (a read of a restricted case would be audited,
// an incident read is not).
func (sd *seeder) count(ctx context.Context) error {
	admin := sd.users["admin"]
	for _, c := range sd.cases {
		if c.key == "" {
			continue
		}
		sd.sum.Cases++
		sd.sum.CasesByStatus[c.status]++
		if c.restricted {
			sd.sum.Restricted++
		}
	}
	for _, in := range sd.incidents {
		if in.key == "" {
			continue
		}
		inc, err := sd.s.RCA.GetIncident(ctx, admin, in.id)
		if err != nil {
			return err
		}
		sd.sum.Incidents++
		for _, rc := range inc.RCA.RootCauses {
			sd.sum.RootCauseCategories[rc.Category]++
		}
		for _, a := range inc.ActionItems {
			sd.sum.ActionItems[a.Status]++
		}
		if inc.PostmortemStatus != nil {
			sd.sum.Postmortems[*inc.PostmortemStatus]++
		}
	}
	return nil
}
