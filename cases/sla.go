package cases

import "time"

// SLAState of one clock.
type SLAState string

const (
	SLAOk       SLAState = "ok"
	SLAAtRisk   SLAState = "at_risk"
	SLABreached SLAState = "breached"
)

// atRiskShare is the share of a clock used up that makes it at risk.
const atRiskShare = 0.8

// Clock is one SLA clock of a case.
type Clock struct {
	Due     time.Time  `json:"due"`
	Stopped *time.Time `json:"stopped,omitempty"`
	State   SLAState   `json:"state"`
}

// SLA holds both clocks of a case, computed at read time.
type SLA struct {
	Triage  Clock    `json:"triage"`
	Resolve Clock    `json:"resolve"`
	State   SLAState `json:"state"` // the worse of the two
}

// computeSLA evaluates the clocks of c at now. A stopped clock keeps the
// state it had when it stopped: a case triaged late stays breached.
func computeSLA(c *Case, t Taxonomy, now time.Time) *SLA {
	target, ok := t.SLA[c.Severity]
	if !ok {
		return nil
	}
	s := &SLA{
		Triage:  clock(c.CreatedAt, target.Triage.D(), c.TriagedAt, now),
		Resolve: clock(c.CreatedAt, target.Resolve.D(), c.ResolvedAt, now),
	}
	s.State = worse(s.Triage.State, s.Resolve.State)
	return s
}

func clock(start time.Time, budget time.Duration, stopped *time.Time, now time.Time) Clock {
	c := Clock{Due: start.Add(budget), Stopped: stopped}
	at := now
	if stopped != nil {
		at = *stopped
	}
	used := at.Sub(start)
	switch {
	case used > budget:
		c.State = SLABreached
	case float64(used) >= atRiskShare*float64(budget) && stopped == nil:
		c.State = SLAAtRisk
	default:
		c.State = SLAOk
	}
	return c
}

func worse(a, b SLAState) SLAState {
	rank := map[SLAState]int{SLAOk: 0, SLAAtRisk: 1, SLABreached: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// SLAMarks are the instants at which a case's SLA state changes, so that an
// index can answer "which cases are at risk now" without recomputing
// every case: the state is breached when Breached is set or now ≥ Due; at
// risk when now ≥ AtRisk; ok otherwise. Zero times never arrive (no clock
// running).
type SLAMarks struct {
	Due      time.Time
	AtRisk   time.Time
	Breached bool
}

// Marks computes the SLAMarks of c: the running clock's due and at-risk
// instants, and whether a stopped clock already breached.
func (c *Case) Marks(t Taxonomy) SLAMarks {
	target, ok := t.SLA[c.Severity]
	if !ok {
		return SLAMarks{}
	}
	var m SLAMarks
	clocks := []struct {
		budget  time.Duration
		stopped *time.Time
	}{{target.Triage.D(), c.TriagedAt}, {target.Resolve.D(), c.ResolvedAt}}
	for _, k := range clocks {
		due := c.CreatedAt.Add(k.budget)
		if k.stopped != nil {
			m.Breached = m.Breached || k.stopped.After(due)
			continue
		}
		if m.Due.IsZero() {
			m.Due = due
			m.AtRisk = c.CreatedAt.Add(time.Duration(atRiskShare * float64(k.budget)))
		}
	}
	return m
}
