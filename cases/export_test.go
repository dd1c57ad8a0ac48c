package cases

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
	"casefile.dev/casefile/internal/mdtext"
)

// exportOf exports key as u in Markdown, failing the test on error.
func (h *harness) exportOf(u *auth.User, key string) string {
	h.t.Helper()
	e, err := h.svc.ExportMarkdown(h.ctx, u, key, FormatMarkdown, Meta{RequestID: "req-export"})
	require.NoError(h.t, err)
	assert.Equal(h.t, key, e.Key)
	return e.Markdown
}

func TestExportMarkdownHoldsTheWholeCase(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.lena, func(n *NewCase) {
		n.Title = "Gift card scam ring"
		n.Summary = "Accounts sell fake gift cards.\nSeveral buyers reported it."
		n.Actor = ActorRef{ActorID: "actor-export-1", Handle: "cardking", DisplayName: "Card King", Kind: "merchant", Region: "DE"}
		n.Vendor = "acme"
		n.Assignee = "ivy"
		n.Tags = []string{"ring"}
	})
	findings, response, plan := "Sold 40 fake cards.", "Ban the accounts.", "Watch for new accounts."
	_, err := h.svc.Update(h.ctx, h.lena, c.Key, 0, Patch{Findings: &findings, ProposedResponse: &response, MitigationPlan: &plan}, Meta{})
	require.NoError(t, err)
	body := []byte("PNG-BODY-THAT-MUST-NOT-LEAVE")
	ev, err := h.svc.AddEvidence(h.ctx, h.lena, c.Key, NewEvidence{Kind: "listing", Ref: "listing-9", Description: "The listing",
		File: &File{Name: "listing.png", Data: body}}, 1<<20, Meta{})
	require.NoError(t, err)
	h.move(h.lena, c.Key, StatusTriage, StatusInvestigating)
	e := h.applyWarning(c.Key)
	_, err = h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Reverse, "Appeal granted", Meta{})
	require.NoError(t, err)
	// More timeline than a case read returns (TimelinePage).
	for i := range TimelinePage + 5 {
		_, err := h.svc.AddNote(h.ctx, h.ivy, c.Key, fmt.Sprintf("Note number %d.", i), Meta{})
		require.NoError(t, err)
	}
	got := h.get(h.lena, c.Key)
	require.Greater(t, got.TimelineCount, TimelinePage)

	md := h.exportOf(h.lena, c.Key)
	for _, want := range []string{
		"# Case " + c.Key + ": Gift card scam ring\n",
		"- **Status:** investigating\n", "- **Severity:** sev2\n", "- **Policy areas:** fraud\\_scam\n",
		"- **Actor:** `actor-export-1` · \\@cardking · Card King · merchant · DE\n",
		"- **Team:** fraud\n", "- **Vendor:** acme\n", "- **Assignee:** ivy\n",
		"## SLA\n", "- **Triage:** due ",
		"## Summary\n\nAccounts sell fake gift cards\\.\\\nSeveral buyers reported it\\.\n",
		"## Findings\n\nSold 40 fake cards\\.\n", "## Proposed response\n\nBan the accounts\\.\n", "## Mitigation plan\n\nWatch for new accounts\\.\n",
		"## Evidence\n\n1 entry.", "- **1. listing**: The listing\n", "  - Reference: listing-9\n",
		"  - File: listing\\.png, " + mdtext.Inline(ev.Attachment.ContentType) + ", 28 bytes\n", "  - SHA-256: `" + ev.SHA256 + "`\n",
		"## Enforcements\n\n1 enforcement.", "- **warning** (fraud\\_scam): reversed\n", "  - Id: `" + e.ID + "`\n",
		"  - Proposed: ", "  - Applied: ", "  - Reversed: ", ": Appeal granted\n",
		fmt.Sprintf("## Timeline\n\n%d entries, oldest first.", got.TimelineCount),
		"case filed", "Note number 0\\.", fmt.Sprintf("Note number %d\\.", TimelinePage+4),
		"Exported " + h.clock.Now().UTC().Format(time.RFC3339) + " by lena (lead).",
	} {
		assert.Contains(t, md, want)
	}
	assert.NotContains(t, md, string(body), "evidence files stay in Casefile")
	assert.Equal(t, got.TimelineCount, strings.Count(md, "\n- 20"), "every timeline entry is a line")
	// The status history reads in order.
	p, a, r := strings.Index(md, "  - Proposed: "), strings.Index(md, "  - Applied: "), strings.Index(md, "  - Reversed: ")
	assert.True(t, p < a && a < r, "proposed, applied, reversed in that order")

	events := h.events("case.export")
	require.Len(t, events, 1)
	assert.Equal(t, auth.Entity{Type: "case", ID: c.Key}, events[0].Entity)
	assert.Equal(t, map[string]string{"format": FormatMarkdown}, events[0].Detail)
	assert.Equal(t, "lena", events[0].User)
}

// TestExportMarkdownEscapesUserText renders the export as a Markdown
// reader would (goldmark with GFM) and checks that what users wrote shows
// as text: one heading of ours, no link, image, HTML or emphasis of theirs.
func TestExportMarkdownEscapesUserText(t *testing.T) {
	h := newHarness(t)
	title := "# Owned <script>alert(1)</script> **bold** [x](javascript:alert(1)) ![i](http://e.com/x.png) | www.evil.com `code` &lt; _u_ ~~s~~"
	summary := "# A heading?\n- a list?\n    an indented code block?\n1. one\n===\n<img src=x onerror=alert(1)>\nuser@example.com http://example.com"
	c := h.create(h.lena, func(n *NewCase) {
		n.Title = title
		n.Summary = summary
	})
	_, err := h.svc.AddNote(h.ctx, h.lena, c.Key, "## not a heading\n\n> not a quote\n[link](http://x)", Meta{})
	require.NoError(t, err)
	md := h.exportOf(h.lena, c.Key)

	var buf bytes.Buffer
	require.NoError(t, goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert([]byte(md), &buf))
	out := buf.String()

	h1 := regexp.MustCompile(`<h1>(.*)</h1>`).FindAllStringSubmatch(out, -1)
	require.Len(t, h1, 1, "one h1: %s", out)
	assert.Equal(t, html.EscapeString("Case "+c.Key+": "+title), unescapeAll(h1[0][1]))
	summaryHTML := between(out, "<h2>Summary</h2>", "<h2>")
	var lines []string
	for _, l := range strings.Split(summary, "\n") {
		lines = append(lines, html.EscapeString(strings.TrimSpace(l)))
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(summaryHTML), "<p>"), "</p>")
	var shown []string
	for _, l := range strings.Split(inner, "<br>\n") {
		shown = append(shown, unescapeAll(l))
	}
	assert.Equal(t, lines, shown, "one paragraph, the user's lines as text")
	for _, bad := range []string{"<a ", "<img", "<script", "<em>", "<del>", "<table", "<blockquote", "<pre>", "<ol", "<h3"} {
		assert.NotContains(t, out, bad)
	}
	// Ours: the field labels and section headings only.
	assert.Equal(t, strings.Count(md, "\n## "), strings.Count(out, "<h2>"))
	for _, text := range []string{"## not a heading", "&gt; not a quote", "[link](http://x)"} {
		assert.Contains(t, unescapeAll(out), text)
	}
}

// unescapeAll reads HTML text back to what it shows, then escapes it the
// one way html.EscapeString does, so two renderings compare equal.
func unescapeAll(s string) string { return html.EscapeString(html.UnescapeString(s)) }

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		s = s[:j]
	}
	return s
}

func TestExportMarkdownReadsLikeGet(t *testing.T) {
	h := newHarness(t)
	open := h.create(h.lena, func(n *NewCase) { n.Vendor = "acme" })
	restricted := h.create(h.lena, func(n *NewCase) { n.Vendor = "acme"; n.Restricted = true })
	tests := []struct {
		name string
		u    *auth.User
		key  string
		code errs.Code
	}{
		{"investigator_of_another_team", h.otto, open.Key, errs.NotFound},
		{"vendor_agent_of_another_vendor", h.vera, open.Key, errs.NotFound},
		{"vendor_agent_on_a_restricted_case_of_its_vendor", h.vic, restricted.Key, errs.NotFound},
		{"investigator_of_the_team_on_a_restricted_case", h.ivy, restricted.Key, errs.NotFound},
		{"leadership", h.leo, open.Key, errs.NotFound},
		{"no_such_case", h.lena, "CF-2026-999", errs.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.ExportMarkdown(h.ctx, tt.u, tt.key, FormatPDF, Meta{})
			errstest.Require(t, err, tt.code)
		})
	}
	assert.Empty(t, h.events("case.export"), "a refused export is not recorded as one")

	t.Run("allowed_readers", func(t *testing.T) {
		h := h.with(t)
		assert.Contains(t, h.exportOf(h.vic, open.Key), open.Key)
		assert.Contains(t, h.exportOf(h.ivy, open.Key), open.Key)
		md := h.exportOf(h.lars, restricted.Key)
		assert.Contains(t, md, "- **Restricted:** yes\n")
		reads := h.events("case.read_restricted")
		require.NotEmpty(t, reads, "reading a restricted case to export it is audited as any read of it")
		assert.Equal(t, "lars", reads[len(reads)-1].User)
		assert.Len(t, h.events("case.export"), 3)
	})

	t.Run("unknown_format", func(t *testing.T) {
		_, err := h.svc.ExportMarkdown(h.ctx, h.lena, open.Key, "docx", Meta{})
		errstest.Require(t, err, errs.Invalid)
	})
}

func TestEnforcementsRefusesLeadershipAndActorIDsToVendors(t *testing.T) {
	h := newHarness(t)
	// Refused before the index is asked: no index is needed to prove it.
	_, err := h.svc.Enforcements(h.ctx, h.leo, nil, EnforcementQuery{}, Meta{})
	errstest.Require(t, err, errs.Forbidden)
	_, err = h.svc.Enforcements(h.ctx, h.vic, nil, EnforcementQuery{IncludeActor: true}, Meta{})
	errstest.Require(t, err, errs.Forbidden)
	denied := h.events("enforcement.export")
	require.Len(t, denied, 2)
	for _, e := range denied {
		assert.Equal(t, auth.OutcomeDenied, e.Outcome)
	}
}
