package rca

import (
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

func TestRenderStripsScript(t *testing.T) {
	md := NewMarkdown()
	tests := []struct {
		name    string
		src     string
		absent  []string // case-insensitive
		present []string
	}{
		{"script_block", "<script>alert(1)</script>\n\nhello", []string{"<script", "alert(1)"}, []string{"<p>hello</p>"}},
		{"inline_script", "a <SCRIPT src=\"https://evil.example/x.js\"></SCRIPT> b", []string{"<script", "evil.example"}, []string{"a"}},
		{"javascript_link", "[click](javascript:alert(1))", []string{"javascript:", "href"}, []string{"click"}},
		{"mixed_case_javascript_link", "[click](JaVaScRiPt:alert(1))", []string{"javascript:", "href"}, []string{"click"}},
		{"entity_javascript_link", "[click](&#106;avascript:alert(1))", []string{"javascript:", "href"}, []string{"click"}},
		{"javascript_image", "![pic](javascript:alert(1))", []string{"javascript:", "src="}, nil},
		{"raw_anchor_with_handler", "<a href=\"javascript:alert(1)\" onclick=\"steal()\">a</a>", []string{"javascript:", "onclick", "steal"}, nil},
		{"event_handler_attribute", "x <img src=\"https://example.com/a.png\" onerror=\"alert(1)\"> y", []string{"onerror", "alert(1)"}, nil},
		{"inline_handler_on_allowed_tag", "some <b onmouseover=\"alert(1)\">bold</b> text", []string{"onmouseover"}, []string{"bold"}},
		{"iframe", "<iframe src=\"https://evil.example\"></iframe>", []string{"<iframe", "evil.example"}, nil},
		{"raw_html_block", "<div class=\"banner\">\nraw block\n</div>\n\nafter", []string{"<div", "banner", "raw block"}, []string{"<p>after</p>"}},
		{"style_block", "<style>body{display:none}</style>", []string{"<style", "display:none"}, nil},
		{"script_in_code_is_text", "```\n<script>alert(1)</script>\n```", []string{"<script"}, []string{"&lt;script&gt;"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := md.Render(tt.src)
			lower := strings.ToLower(out)
			for _, a := range tt.absent {
				assert.NotContains(t, lower, strings.ToLower(a))
			}
			for _, p := range tt.present {
				assert.Contains(t, out, p)
			}
		})
	}
}

func TestRenderKeepsFormatting(t *testing.T) {
	md := NewMarkdown()
	out := md.Render("**bold** and _it_\n\n- one\n- two\n\n1. first\n2. second\n\n[docs](https://example.com/runbook?a=1)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n`code`")
	for _, want := range []string{
		"<strong>bold</strong>", "<em>it</em>",
		"<ul>", "<li>one</li>", "<li>two</li>",
		"<ol>", "<li>first</li>",
		"<table>", "<td>1</td>",
		"<code>code</code>",
	} {
		assert.Contains(t, out, want)
	}
	link := regexp.MustCompile(`<a href="https://example.com/runbook\?a=1" rel="([^"]*)">docs</a>`).FindStringSubmatch(out)
	require.NotNil(t, link, out)
	assert.Contains(t, strings.Fields(link[1]), "noreferrer")
}

func TestReadingMarkdown(t *testing.T) {
	published := time.Date(2026, 3, 13, 15, 0, 0, 0, time.FixedZone("CET", 3600))
	c := Content{
		Summary: "  The queue stalled.  ", Impact: "Reports waited.",
		Timeline: []TimelineItem{
			{At: t0.Add(2 * time.Hour), Event: "Resolved"},
			{At: t0, Event: "Started"},
			{At: t0.Add(time.Hour), Event: "Mitigated"},
		},
		Detection: "Alert.", Response: "Drained.", WhatWentWell: "Fast page.", WhatWentWrong: "No owner.",
		Lessons: "Own jobs.", Body: "Details **here**.",
	}
	md := ReadingMarkdown(Reading{Revision: Revision{IncidentKey: "INC-2026-7", Title: "Queue stall", Severity: "sev1", Revision: 2, PublishedAt: published, Content: c}})

	assert.True(t, strings.HasPrefix(md, "# Postmortem INC-2026-7: Queue stall\n\n- Severity: sev1\n- Revision: 2\n- Published: 2026-03-13T14:00:00Z\n"), md)
	assert.Contains(t, md, "## Summary\n\nThe queue stalled.\n")
	assert.Contains(t, md, "## Timeline\n\n- 2026-03-02T09:30:00Z: Started\n- 2026-03-02T10:30:00Z: Mitigated\n- 2026-03-02T11:30:00Z: Resolved\n")
	assert.Contains(t, md, "## Details\n\nDetails **here**.\n")
	assert.NotContains(t, md, "## Where we got lucky", "empty sections are left out")

	sections := []string{"## Summary", "## Impact", "## Timeline", "## Detection", "## Response", "## What went well", "## What went wrong", "## Lessons", "## Details"}
	last := -1
	for _, s := range sections {
		i := strings.Index(md, s)
		require.GreaterOrEqual(t, i, 0, "missing %s", s)
		assert.Greater(t, i, last, "%s out of order", s)
		last = i
	}
	assert.Equal(t, "Resolved", c.Timeline[0].Event, "the content's timeline is not reordered")

	bare := ReadingMarkdown(Reading{Revision: Revision{IncidentKey: "INC-2026-7", Title: "Queue stall", Severity: "sev1", Revision: 1, Content: Content{Summary: "s"}}})
	assert.NotContains(t, bare, "Published:")
	assert.NotContains(t, bare, "## Timeline")
}

// unsafeMarkup reports what in rendered HTML could run script: a script
// element (or any "<script" at all), an event handler attribute, or a
// javascript: URL in any attribute. "javascript:" in text content is just
// text and is allowed.
func unsafeMarkup(out string) string {
	if strings.Contains(strings.ToLower(out), "<script") {
		return "<script"
	}
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() == io.EOF {
				return ""
			}
			return "tokenizer: " + z.Err().Error()
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			raw := strings.ToLower(string(z.Raw()))
			tok := z.Token()
			if tok.Data == "script" || tok.Data == "iframe" {
				return "<" + tok.Data + ">"
			}
			for _, a := range tok.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") {
					return "attribute " + a.Key
				}
				v := strings.Map(func(r rune) rune {
					if r <= ' ' {
						return -1
					}
					return r
				}, strings.ToLower(a.Val))
				if strings.Contains(v, "javascript:") {
					return "javascript: in " + a.Key
				}
			}
			if strings.Contains(raw, "javascript:") {
				return "javascript: in a tag"
			}
		}
	}
}

func TestUnsafeMarkupDetectsScript(t *testing.T) {
	for _, bad := range []string{
		`<SCRIPT>x</SCRIPT>`, `<a href="java&#x09;script:alert(1)">x</a>`, `<a href="JAVASCRIPT:x">x</a>`,
		`<img src=x onerror=alert(1)>`, `<iframe src="https://x"></iframe>`,
	} {
		assert.NotEmpty(t, unsafeMarkup(bad), bad)
	}
	assert.Empty(t, unsafeMarkup(`<p>javascript: is a URL scheme</p><a href="https://x" rel="nofollow noreferrer">x</a>`))
}

// FuzzRender checks that no Markdown renders to markup that runs script.
// The property is about markup: the words "javascript:" may appear as text
// (a postmortem may discuss the scheme), escaped and inert.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"", "**bold**", "[x](https://example.com)",
		"<script>alert(1)</script>", "<ScRiPt>alert(1)</ScRiPt>", "a <script>b</script> c",
		"[x](javascript:alert(1))", "[x](JAVASCRIPT:alert(1))", "[x](&#106;avascript:alert(1))",
		"[x](java\tscript:alert(1))", "[x]: javascript:alert(1)\n\n[x]", "<javascript:alert(1)>",
		"![i](javascript:alert(1))", `<a href="javascript:alert(1)">a</a>`, `<img src=x onerror=alert(1)>`,
		`<iframe src="https://evil"></iframe>`, "<div>\n<script>x</script>\n</div>", "```\n<script>\n```",
		"<svg onload=alert(1)>", "<<script>script>alert(1)<</script>/script>", "javascript: text",
	} {
		f.Add(s)
	}
	md := NewMarkdown()
	f.Fuzz(func(t *testing.T, src string) {
		out := md.Render(src)
		if what := unsafeMarkup(out); what != "" {
			t.Fatalf("Render(%q) = %q: %s", src, out, what)
		}
	})
}
