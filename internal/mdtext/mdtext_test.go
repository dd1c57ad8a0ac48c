package mdtext_test

import (
	"bytes"
	"html"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"casefile.dev/casefile/internal/mdtext"
)

// shown renders md as a reader would (goldmark with GFM) and returns the
// HTML.
func shown(t *testing.T, md string) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert([]byte(md), &b))
	return b.String()
}

// text reads HTML text back as html.EscapeString would write it.
func text(s string) string { return html.EscapeString(html.UnescapeString(s)) }

func TestInlineReadsAsTheTextItIs(t *testing.T) {
	tests := []string{
		"# heading", "**bold** and _it_ and ~~del~~", "[link](javascript:alert(1))", "![img](http://e.com/x.png)",
		"<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "`code`", "a | b | c", "www.example.com and http://example.com",
		"user@example.com", "&lt; &amp; &#x41;", "1. one", "- item", "+ item", "> quote", "===", "---", "\\*escaped\\*",
		"line one\nline two\r\nthree", "    indented", "trailing backslash \\", "actor-17 -lead- a - b", "<!-- comment -->", "[^1]",
	}
	for _, s := range tests {
		t.Run(s, func(t *testing.T) {
			out := shown(t, "x "+mdtext.Inline(s)) // mid-line, as exports write it
			want := "x " + strings.Join(strings.Fields(strings.NewReplacer("\r\n", " ", "\n", " ").Replace(s)), " ")
			got := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(out), "<p>"), "</p>")
			assert.Equal(t, html.EscapeString(want), strings.Join(strings.Fields(text(got)), " "), "rendered: %s", out)
			assert.NotContains(t, got, "<", "no element of the user's: %s", out)
		})
	}
}

func TestInlineLeavesHyphensInsideWordsAlone(t *testing.T) {
	assert.Equal(t, "actor-17", mdtext.Inline("actor-17"))
	assert.Equal(t, `\-lead\- a \- b`, mdtext.Inline("-lead- a - b"))
}

func TestBlockKeepsLinesAndParagraphs(t *testing.T) {
	md := "- item:\\\n  " + mdtext.Block("# first line\n    second line\n\n1. new paragraph\n<b>x</b>", "  ")
	out := shown(t, md)
	assert.Equal(t, 1, strings.Count(out, "<li>"), out)
	assert.Contains(t, out, "item:<br>\n# first line<br>\nsecond line</p>")
	assert.Contains(t, out, "<p>1. new paragraph<br>\n&lt;b&gt;x&lt;/b&gt;</p>")
	for _, bad := range []string{"<h1", "<pre", "<ol", "<b>"} {
		assert.NotContains(t, out, bad)
	}
}

func TestCodeCannotCloseItsSpan(t *testing.T) {
	assert.Equal(t, "`abc`", mdtext.Code("a`b\nc"))
	assert.Contains(t, shown(t, mdtext.Code("<x>")), "<code>&lt;x&gt;</code>")
}
