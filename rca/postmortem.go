package rca

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"casefile.dev/casefile/internal/errs"
)

// PostmortemStatus is where a postmortem's working revision stands.
type PostmortemStatus string

const (
	Draft     PostmortemStatus = "draft"
	InReview  PostmortemStatus = "in_review"
	Approved  PostmortemStatus = "approved"
	Published PostmortemStatus = "published"
)

// TimelineItem is one line of a postmortem's timeline.
type TimelineItem struct {
	At    time.Time `bson:"at" json:"at"`
	Event string    `bson:"event" json:"event"`
}

// Content is what authors write; it is what a revision freezes.
type Content struct {
	Summary         string         `bson:"summary" json:"summary"`
	Impact          string         `bson:"impact" json:"impact"`
	Timeline        []TimelineItem `bson:"timeline" json:"timeline"`
	Detection       string         `bson:"detection" json:"detection"`
	Response        string         `bson:"response" json:"response"`
	WhatWentWell    string         `bson:"what_went_well" json:"what_went_well"`
	WhatWentWrong   string         `bson:"what_went_wrong" json:"what_went_wrong"`
	WhereWeGotLucky string         `bson:"where_we_got_lucky" json:"where_we_got_lucky"`
	Lessons         string         `bson:"lessons" json:"lessons"`
	// Body is Markdown; it is rendered to sanitised HTML for reading.
	Body string `bson:"body" json:"body"`
}

// Comment is a review comment.
type Comment struct {
	Author   string    `bson:"author" json:"author"`
	At       time.Time `bson:"at" json:"at"`
	Text     string    `bson:"text" json:"text"`
	Revision int       `bson:"revision" json:"revision"`
}

// Postmortem is the write-up of an incident. Its _id is the incident's.
// The working revision moves draft → in_review → approved → published;
// editing a published postmortem starts a new working revision while
// readers keep the last published one (stored in postmortem_revisions).
type Postmortem struct {
	ID                string           `bson:"_id" json:"id"`
	IncidentKey       string           `bson:"incident_key" json:"incident_key"`
	Title             string           `bson:"title" json:"title"`
	Severity          Severity         `bson:"severity" json:"severity"`
	Content           Content          `bson:"content" json:"content"`
	Status            PostmortemStatus `bson:"status" json:"status"`
	Revision          int              `bson:"revision" json:"revision"`
	PublishedRevision int              `bson:"published_revision" json:"published_revision"`
	// Authors are everyone who edited the working revision: none of them
	// may approve it.
	Authors     []string   `bson:"authors" json:"authors"`
	Comments    []Comment  `bson:"comments" json:"comments"`
	ApprovedBy  string     `bson:"approved_by,omitempty" json:"approved_by,omitempty"`
	ApprovedAt  *time.Time `bson:"approved_at,omitempty" json:"approved_at,omitempty"`
	PublishedBy string     `bson:"published_by,omitempty" json:"published_by,omitempty"`
	PublishedAt *time.Time `bson:"published_at,omitempty" json:"published_at,omitempty"`
	// PIIAcknowledgedBy is set when a publisher published despite findings.
	PIIAcknowledgedBy string    `bson:"pii_acknowledged_by,omitempty" json:"pii_acknowledged_by,omitempty"`
	CreatedAt         time.Time `bson:"created_at" json:"created_at"`
	CreatedBy         string    `bson:"created_by" json:"created_by"`
	UpdatedAt         time.Time `bson:"updated_at" json:"updated_at"`
	Version           int64     `bson:"version" json:"version"`
	Seq               int64     `bson:"seq" json:"-"`

	BodyHTML string     `bson:"-" json:"body_html"`
	Due      *time.Time `bson:"-" json:"due,omitempty"`
	Overdue  bool       `bson:"-" json:"overdue"`
}

// Revision is a published revision, frozen.
type Revision struct {
	ID          string    `bson:"_id" json:"-"` // "<postmortem id>/<revision>"
	Postmortem  string    `bson:"postmortem" json:"postmortem"`
	Revision    int       `bson:"revision" json:"revision"`
	IncidentKey string    `bson:"incident_key" json:"incident_key"`
	Title       string    `bson:"title" json:"title"`
	Severity    Severity  `bson:"severity" json:"severity"`
	Content     Content   `bson:"content" json:"content"`
	PublishedBy string    `bson:"published_by" json:"published_by"`
	PublishedAt time.Time `bson:"published_at" json:"published_at"`
	BodyHTML    string    `bson:"-" json:"body_html"`
}

const maxComments = 500

func (c *Content) validate() error {
	var f errs.Fields
	f.Text("summary", c.Summary, maxText, true)
	for name, v := range map[string]string{"impact": c.Impact, "detection": c.Detection, "response": c.Response,
		"what_went_well": c.WhatWentWell, "what_went_wrong": c.WhatWentWrong, "where_we_got_lucky": c.WhereWeGotLucky, "lessons": c.Lessons} {
		f.Text(name, v, maxText, false)
	}
	f.Text("body", c.Body, 200<<10, false)
	if len(c.Timeline) > 500 {
		f.Add("timeline", "must have at most 500 entries")
	}
	for i, t := range c.Timeline {
		if t.At.IsZero() {
			f.Add(fmt.Sprintf("timeline[%d].at", i), "is required")
		}
		f.Text(fmt.Sprintf("timeline[%d].event", i), t.Event, 2000, true)
	}
	return f.Err()
}

// businessDaysAfter adds n working days (Monday to Friday) to t.
func businessDaysAfter(t time.Time, n int) time.Time {
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return t
}

// PostmortemDueDays is how many business days after an incident is
// resolved its postmortem is due.
const PostmortemDueDays = 5

// postmortemDue is when a grave incident's postmortem must be published
// (nil when none is required or the incident is not resolved yet).
func postmortemDue(in *Incident) *time.Time {
	if in.Kind != KindIncident || !in.Severity.Grave() || in.ResolvedAt == nil {
		return nil
	}
	d := businessDaysAfter(*in.ResolvedAt, PostmortemDueDays)
	return &d
}

// Markdown renders Markdown to HTML safe to put in a page: goldmark drops
// raw HTML (it is not configured WithUnsafe), and bluemonday's UGC policy
// removes anything left that could run script (javascript: links, event
// attributes, iframes).
type Markdown struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// NewMarkdown returns the renderer.
func NewMarkdown() *Markdown {
	p := bluemonday.UGCPolicy()
	p.RequireNoReferrerOnLinks(true)
	return &Markdown{md: goldmark.New(goldmark.WithExtensions(extension.GFM)), policy: p}
}

// Render converts src to sanitised HTML.
func (m *Markdown) Render(src string) string {
	var buf bytes.Buffer
	if err := m.md.Convert([]byte(src), &buf); err != nil {
		return m.policy.Sanitize("<pre>" + bluemonday.StrictPolicy().Sanitize(src) + "</pre>")
	}
	return m.policy.Sanitize(buf.String())
}

// PIIFinding is something in a postmortem that may identify a person.
type PIIFinding struct {
	Kind  string `json:"kind"` // actor_id, handle, email, phone
	Field string `json:"field"`
	Match string `json:"match"`
}

var (
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	// Phone numbers: an optional +, then 8–15 digits with common separators
	// (a space, dot or dash, optionally after a closing or before an opening
	// parenthesis, as in "+1 (415) 555-0100").
	phonePattern = regexp.MustCompile(`\+?\(?\d(?:\)?[\s.-]?\(?\d){7,14}`)
)

// ActorIdentifiers are the ids and handles of actors linked to an incident.
type ActorIdentifiers struct {
	IDs     []string
	Handles []string
}

// scanPII lists identifiers found in the content. Actor ids and handles
// match as whole words, case-insensitively; handles also with a leading @.
func scanPII(c Content, actors ActorIdentifiers) []PIIFinding {
	fields := []struct{ name, text string }{
		{"summary", c.Summary}, {"impact", c.Impact}, {"detection", c.Detection}, {"response", c.Response},
		{"what_went_well", c.WhatWentWell}, {"what_went_wrong", c.WhatWentWrong}, {"where_we_got_lucky", c.WhereWeGotLucky},
		{"lessons", c.Lessons}, {"body", c.Body},
	}
	for i, t := range c.Timeline {
		fields = append(fields, struct{ name, text string }{fmt.Sprintf("timeline[%d].event", i), t.Event})
	}
	var out []PIIFinding
	seen := map[string]bool{}
	add := func(kind, field, match string) {
		k := kind + "\x00" + field + "\x00" + match
		if !seen[k] {
			seen[k] = true
			out = append(out, PIIFinding{Kind: kind, Field: field, Match: match})
		}
	}
	for _, fd := range fields {
		for _, m := range emailPattern.FindAllString(fd.text, -1) {
			add("email", fd.name, m)
		}
		for _, m := range phonePattern.FindAllString(fd.text, -1) {
			if !looksLikeDateOrCount(m) {
				add("phone", fd.name, strings.TrimSpace(m))
			}
		}
		lower := strings.ToLower(fd.text)
		for _, id := range actors.IDs {
			if containsWord(lower, strings.ToLower(id)) {
				add("actor_id", fd.name, id)
			}
		}
		for _, h := range actors.Handles {
			if h != "" && containsWord(lower, strings.ToLower(strings.TrimPrefix(h, "@"))) {
				add("handle", fd.name, h)
			}
		}
	}
	return out
}

// looksLikeDateOrCount skips digit runs that are plainly not phone numbers:
// ISO dates and times, and plain numbers written with thousands separators.
func looksLikeDateOrCount(s string) bool {
	s = strings.TrimSpace(s)
	return isoDatePattern.MatchString(s) || countPattern.MatchString(s)
}

var (
	isoDatePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
	countPattern   = regexp.MustCompile(`^\d{1,3}(,\d{3})+$`)
)

// containsWord reports whether w occurs in s bounded by non-word characters.
func containsWord(s, w string) bool {
	if w == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !isWordByte(s[start-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		i = start + 1
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
