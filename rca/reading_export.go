package rca

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/mdtext"
)

// Export is a published postmortem written out for readers outside
// Casefile.
type Export struct {
	Key      string
	Title    string
	Markdown string
	// At is when it was made.
	At time.Time
}

// Export formats: the content is the same Markdown in both; a PDF is
// typeset from it.
const (
	FormatMarkdown = "markdown"
	FormatPDF      = "pdf"
)

// ExportReading writes the published postmortem as its readers see it
// (Reading: the latest published revision, with the root causes and
// action items of its incident under the same PII rules, redacted where
// the scanner finds identifiers) as one Markdown document. Whoever may not
// read the published postmortem, or asks for one never published, gets
// NotFound. The export is audited ("postmortem.export").
func (s *Service) ExportReading(ctx context.Context, u *auth.User, idOrKey, format string, m auth.Meta) (Export, error) {
	if format != FormatMarkdown && format != FormatPDF {
		return Export{}, errs.E(errs.Invalid, "a postmortem exports as markdown or pdf")
	}
	r, err := s.Reading(ctx, u, idOrKey)
	if err != nil {
		return Export{}, err
	}
	out := Export{Key: r.IncidentKey, Title: r.Title, At: s.clock(), Markdown: ReadingMarkdown(r)}
	if err := s.record(ctx, u, m, "postmortem.export", "postmortem", r.IncidentKey, auth.OutcomeSuccess,
		map[string]string{"format": format, "revision": strconv.Itoa(r.Revision.Revision)}); err != nil {
		return Export{}, err
	}
	return out, nil
}

// ReadingMarkdown writes a reading in the order of the reading page. The
// prose sections are Markdown as their authors wrote it (the page renders
// them as Markdown too, and a lead approved them); the title, timeline
// events, root causes and action items are plain text, escaped.
func ReadingMarkdown(r Reading) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Postmortem %s: %s\n\n", r.IncidentKey, mdtext.Inline(r.Title))
	fmt.Fprintf(&b, "- Severity: %s\n- Revision: %d\n", r.Severity, r.Revision.Revision)
	if !r.PublishedAt.IsZero() {
		fmt.Fprintf(&b, "- Published: %s\n", r.PublishedAt.UTC().Format(time.RFC3339))
	}
	if r.PublishedBy != "" {
		fmt.Fprintf(&b, "- Published by: %s\n", mdtext.Inline(r.PublishedBy))
	}
	c := r.Content
	section := func(h, text string) {
		if strings.TrimSpace(text) != "" {
			fmt.Fprintf(&b, "\n## %s\n\n%s\n", h, strings.TrimSpace(text))
		}
	}
	section("Summary", c.Summary)
	section("Impact", c.Impact)
	if len(c.Timeline) > 0 {
		b.WriteString("\n## Timeline\n\n")
		tl := slices.Clone(c.Timeline)
		slices.SortStableFunc(tl, func(a, b TimelineItem) int { return a.At.Compare(b.At) })
		for _, t := range tl {
			fmt.Fprintf(&b, "- %s: %s\n", t.At.UTC().Format(time.RFC3339), mdtext.Inline(t.Event))
		}
	}
	section("Detection", c.Detection)
	section("Response", c.Response)
	b.WriteString("\n## Root causes\n\n")
	if len(r.RootCauses) == 0 {
		b.WriteString("No root causes recorded.\n")
	}
	var groups []string
	for _, cat := range Categories {
		var g strings.Builder
		for _, rc := range r.RootCauses {
			if rc.Category == cat {
				fmt.Fprintf(&g, "- %s (%s)\n", mdtext.Inline(rc.Description), mdtext.Inline(strings.ReplaceAll(rc.Subcategory, "_", " ")))
			}
		}
		if g.Len() > 0 {
			groups = append(groups, fmt.Sprintf("### %s\n\n%s", capital(string(cat)), g.String()))
		}
	}
	b.WriteString(strings.Join(groups, "\n"))
	section("What went well", c.WhatWentWell)
	section("What went wrong", c.WhatWentWrong)
	section("Where we got lucky", c.WhereWeGotLucky)
	section("Lessons", c.Lessons)
	section("Details", c.Body)
	b.WriteString("\n## Action items\n\n")
	if len(r.ActionItems) == 0 {
		b.WriteString("No action items.\n")
	}
	for _, a := range r.ActionItems {
		facts := []string{mdtext.Inline(a.Kind), "owner " + mdtext.Inline(a.Owner)}
		if a.Due != nil {
			facts = append(facts, "due "+a.Due.UTC().Format(time.DateOnly))
		}
		status := string(a.Status)
		if a.Overdue {
			status += ", overdue"
		}
		if a.DoneAt != nil {
			status += " " + a.DoneAt.UTC().Format(time.DateOnly)
		}
		fmt.Fprintf(&b, "- **%s**: %s; %s\n", mdtext.Inline(a.Title), strings.Join(facts, ", "), mdtext.Inline(strings.ReplaceAll(status, "_", " ")))
	}
	return b.String()
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
