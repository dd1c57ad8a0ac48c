package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/rca"
)

// Event is the JSON payload of a delivery (format json).
//
// It is deliberately small, because a receiver may be a chat channel many
// people read: it names what happened and to which object, with the fields
// that route and triage it, and never titles, summaries, notes, actor ids
// or handles, user names, reasons or evidence. A receiver that needs more
// reads the object through the API with its own credentials (and
// permissions). For a restricted case even the routing fields (policy
// areas, team, vendor) are left out and restricted is true; a quality
// alert about one agent does not name the agent.
type Event struct {
	// ID identifies the event: the same in every subscription's delivery
	// of it (X-Casefile-Delivery identifies the delivery).
	ID         string    `json:"id"`
	Name       string    `json:"event"`
	OccurredAt time.Time `json:"occurred_at"`
	Entity     Entity    `json:"entity"`
	Data       Data      `json:"data"`
}

// Entity is the object an event is about.
type Entity struct {
	Type string `json:"type"` // case, postmortem or quality_alert
	ID   string `json:"id,omitempty"`
	Key  string `json:"key,omitempty"` // CF-2026-12, INC-2026-3
	// URL opens the object in Casefile (when a public URL is configured).
	URL string `json:"url,omitempty"`
}

// Data are an event's non-sensitive fields; which are set depends on the
// event (README: Webhooks).
type Data struct {
	Severity      string   `json:"severity,omitempty"`
	Status        string   `json:"status,omitempty"`
	From          string   `json:"from,omitempty"`
	To            string   `json:"to,omitempty"`
	Restricted    bool     `json:"restricted,omitempty"`
	PolicyAreas   []string `json:"policy_areas,omitempty"`
	Team          string   `json:"team,omitempty"`
	Vendor        string   `json:"vendor,omitempty"`
	EnforcementID string   `json:"enforcement_id,omitempty"`
	Action        string   `json:"action,omitempty"`
	PolicyArea    string   `json:"policy_area,omitempty"`
	Revision      int      `json:"revision,omitempty"`
	// Clock is the SLA clock that breached: triage or resolve.
	Clock string     `json:"clock,omitempty"`
	DueAt *time.Time `json:"due_at,omitempty"`
	// Quality alerts: the group's scope and name (not for an agent), the
	// Monday of the week, and the agreement rates of it and the week before.
	Scope           string   `json:"scope,omitempty"`
	Group           string   `json:"group,omitempty"`
	Week            string   `json:"week,omitempty"`
	PreviousRate    *float64 `json:"previous_rate,omitempty"`
	CurrentRate     *float64 `json:"current_rate,omitempty"`
	PreviousReviews int      `json:"previous_reviews,omitempty"`
	CurrentReviews  int      `json:"current_reviews,omitempty"`
}

// fromAudit builds the event of a successful audit event with a webhook
// name. The entity is read now, so fields other than the ones the audit
// event carries (severity at creation, from and to of a transition, the
// enforcement's action) are as of this read.
func (s *Service) fromAudit(ctx context.Context, name string, e auth.AuditEvent) (Event, error) {
	ev := Event{ID: fmt.Sprintf("audit-%d", e.Seq), Name: name, OccurredAt: e.At.UTC()}
	if name == PostmortemPublished {
		ev.Entity = Entity{Type: "postmortem", Key: e.Entity.ID}
		ev.Data.Status = "published"
		ev.Data.Revision, _ = strconv.Atoi(e.Detail["revision"])
		in, ok, err := s.incidentByKey(ctx, e.Entity.ID)
		if err != nil {
			return Event{}, err
		}
		if ok {
			ev.Entity.ID, ev.Data.Severity = in.ID, string(in.Severity)
		}
		ev.Entity.URL = s.link("postmortems", ev.Entity.Key)
		return ev, nil
	}

	ev.Entity = Entity{Type: "case", Key: e.Entity.ID}
	c, ok, err := s.caseByKey(ctx, e.Entity.ID)
	if err != nil {
		return Event{}, err
	}
	if ok {
		ev.Entity.ID = c.ID
		caseData(&ev.Data, &c)
	}
	switch name {
	case CaseCreated:
		if sev := e.Detail["severity"]; sev != "" {
			ev.Data.Severity = sev // as filed
		}
		ev.Data.Status = string(cases.StatusNew)
	case CaseTransitioned:
		ev.Data.From, ev.Data.To = e.Detail["from"], e.Detail["to"]
		ev.Data.Status = ev.Data.To
	case EnforcementApplied, EnforcementReversed:
		ev.Data.Status = "" // the case's status is not what changed
		ev.Data.EnforcementID, ev.Data.Action = e.Detail["enforcement"], e.Detail["action"]
		if ok && !c.Restricted {
			if i := slices.IndexFunc(c.Enforcements, func(x cases.Enforcement) bool { return x.ID == ev.Data.EnforcementID }); i >= 0 {
				ev.Data.PolicyArea = c.Enforcements[i].PolicyArea
			}
		}
	}
	ev.Entity.URL = s.link("cases", ev.Entity.Key)
	return ev, nil
}

// caseData fills the fields every case event carries.
func caseData(d *Data, c *cases.Case) {
	d.Severity, d.Status, d.Restricted = string(c.Severity), string(c.Status), c.Restricted
	if !c.Restricted {
		d.PolicyAreas, d.Team, d.Vendor = slices.Clone(c.PolicyAreas), c.Team, c.Vendor
	}
}

func (s *Service) caseByKey(ctx context.Context, key string) (cases.Case, bool, error) {
	id, err := s.cases.CaseIDByKey(ctx, key)
	if err == nil {
		var c cases.Case
		if c, err = s.cases.Case(ctx, id); err == nil {
			return c, true, nil
		}
	}
	if errs.Is(err, errs.NotFound) {
		return cases.Case{}, false, nil
	}
	return cases.Case{}, false, err
}

func (s *Service) incidentByKey(ctx context.Context, key string) (rca.Incident, bool, error) {
	id, err := s.incidents.IncidentIDByKey(ctx, key)
	if err == nil {
		var in rca.Incident
		if in, err = s.incidents.Incident(ctx, id); err == nil {
			return in, true, nil
		}
	}
	if errs.Is(err, errs.NotFound) {
		return rca.Incident{}, false, nil
	}
	return rca.Incident{}, false, err
}

// fromAlert builds a quality.alert event.
func fromAlert(a quality.Alert) Event {
	prev, cur := a.Previous, a.Current
	ev := Event{ID: "quality-" + shortHash(a.ID), Name: QualityAlert, OccurredAt: a.RaisedAt.UTC(),
		Entity: Entity{Type: "quality_alert", ID: a.ID},
		Data: Data{Scope: a.Scope, Group: a.Group, Week: a.Week.UTC().Format("2006-01-02"), PreviousRate: &prev, CurrentRate: &cur,
			PreviousReviews: a.PreviousReviews, CurrentReviews: a.CurrentReviews}}
	if a.Scope == "agent" {
		// One person's agreement rate is a personnel matter: the alert's
		// id would name them, so the entity id is an opaque hash.
		ev.Data.Group, ev.Entity.ID = "", shortHash(a.ID)
	}
	return ev
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:10])
}

// link is the page of an object under the public URL ("" without one).
func (s *Service) link(section, key string) string {
	if s.opts.PublicURL == "" || key == "" {
		return ""
	}
	return strings.TrimRight(s.opts.PublicURL, "/") + "/" + section + "/" + url.PathEscape(key)
}

// render is the body a subscription of format f is sent for ev.
func render(f Format, ev Event) ([]byte, error) {
	if f == FormatSlack {
		return json.Marshal(slackMessage(ev))
	}
	return json.Marshal(ev)
}

// slack is a Slack incoming-webhook message.
type slack struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string       `json:"type"`
	Text     *slackText   `json:"text,omitempty"`
	Elements []*slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// slackMessage is ev as one readable line ("CF-2026-12 transitioned
// triage → investigating (sev2)"), the key a link when there is one,
// with the event and time as context.
func slackMessage(ev Event) slack {
	subject := slackEscape(ev.Entity.Key)
	if ev.Entity.URL != "" && ev.Entity.Key != "" {
		subject = "<" + ev.Entity.URL + "|" + subject + ">"
	}
	return slack{
		Text: summary(ev, slackEscape(ev.Entity.Key)),
		Blocks: []slackBlock{
			{Type: "section", Text: &slackText{Type: "mrkdwn", Text: summary(ev, subject)}},
			{Type: "context", Elements: []*slackText{{Type: "mrkdwn", Text: slackEscape(ev.Name) + " · " + ev.OccurredAt.UTC().Format("2006-01-02 15:04 UTC")}}},
		},
	}
}

// summary is ev in one line of Slack mrkdwn, subject (already escaped)
// naming its object.
func summary(ev Event, subject string) string {
	d := ev.Data
	e := slackEscape
	var sev []string
	if d.Severity != "" {
		sev = append(sev, e(d.Severity))
	}
	switch ev.Name {
	case CaseCreated:
		if d.Restricted {
			return "New restricted case " + subject + paren(sev)
		}
		return "New case " + subject + paren(append(sev, e(strings.Join(d.PolicyAreas, ", "))))
	case CaseTransitioned:
		return subject + " transitioned " + e(d.From) + " → " + e(d.To) + paren(sev)
	case EnforcementApplied:
		return subject + ": " + e(d.Action) + " applied" + paren(sev)
	case EnforcementReversed:
		return subject + ": " + e(d.Action) + " reversed" + paren(sev)
	case PostmortemPublished:
		return "Postmortem for " + subject + " published" + paren(sev)
	case SLABreached:
		if d.DueAt != nil {
			sev = append(sev, "due "+d.DueAt.UTC().Format("2006-01-02 15:04 UTC"))
		}
		return subject + " breached its " + e(d.Clock) + " SLA" + paren(sev)
	case QualityAlert:
		who := e(d.Scope)
		if d.Group != "" {
			who += " " + e(d.Group)
		}
		return fmt.Sprintf("Quality alert: %s agreement fell from %s to %s (week of %s)", who, pct(d.PreviousRate), pct(d.CurrentRate), e(d.Week))
	}
	return e(ev.Name) + " " + subject
}

// paren is " (a, b)" of the non-empty parts, or nothing.
func paren(parts []string) string {
	parts = slices.DeleteFunc(parts, func(p string) bool { return p == "" })
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func pct(f *float64) string {
	if f == nil {
		return "?"
	}
	return strconv.FormatFloat(*f*100, 'f', 0, 64) + "%"
}

// slackEscape escapes the three characters Slack's mrkdwn reads as markup.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
