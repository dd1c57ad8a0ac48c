package pdf_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/pdf"
	"casefile.dev/casefile/internal/pdf/pdftest"
)

var created = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// render renders md uncompressed and reads it back.
func render(t *testing.T, md string, o pdf.Options) pdftest.Doc {
	t.Helper()
	o.Uncompressed = true
	b, err := pdf.Render(md, o)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("%PDF-")), "a PDF starts with its header")
	d, err := pdftest.Parse(b)
	require.NoError(t, err)
	return d
}

func TestRenderReadsBackAsWritten(t *testing.T) {
	tests := []struct {
		name    string
		md      string
		want    []string // in the flat text, in this order
		notWant []string
	}{
		{"heading_and_paragraph", "# Case CF-2026-1: Fake cards\n\nSold gift cards\nthat were fake.",
			[]string{"Case CF-2026-1: Fake cards", "Sold gift cards that were fake."}, nil},
		{"inline_styles_keep_their_words", "Has **bold**, *italic* and `code` words.",
			[]string{"Has bold, italic and code words."}, []string{"**", "`"}},
		{"escapes_and_entities_read_as_text", `Sells \*fake\* \[cards\] &amp; \&amp; more \<b\>`,
			[]string{"Sells *fake* [cards] & &amp; more <b>"}, nil},
		{"raw_html_is_text", "Before <script>alert(1)</script> after\n\n<div>block html</div>",
			[]string{"Before <script>alert(1)</script> after", "<div>block html</div>"}, nil},
		{"bullet_and_numbered_lists", "- first\n- second\n  - nested\n\n3. three\n4. four",
			[]string{"• first", "• second", "• nested", "3. three", "4. four"}, nil},
		{"links_show_their_address", "See [the runbook](https://example.com/rb) or <https://example.com/x>.",
			[]string{"See the runbook (https://example.com/rb) or https://example.com/x."}, nil},
		{"images_are_their_alt_text", "![a chart](chart.png)", []string{"[image: a chart]"}, []string{"chart.png"}},
		{"table_cells", "| Kind | Ref |\n|---|---|\n| video | v-1 |\n| comment | c-2 |",
			[]string{"Kind Ref", "video v-1", "comment c-2"}, []string{"|", "---"}},
		{"key_value_lines", "- **Status:** investigating\n- **Severity:** sev2",
			[]string{"• Status: investigating", "• Severity: sev2"}, nil},
		{"greek_and_cyrillic_are_kept", "Ωμέγα and Жук, naïve café, 10 €", []string{"Ωμέγα and Жук, naïve café, 10 €"}, nil},
		{"control_characters_go", "tab\there and bell\a gone", []string{"tab here and bell gone"}, []string{"\a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flat := render(t, tt.md, pdf.Options{}).Flat()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(flat[at:], w)
				if !assert.GreaterOrEqual(t, i, 0, "%q after offset %d of %q", w, at, flat) {
					continue
				}
				at += i + len(w)
			}
			for _, w := range tt.notWant {
				assert.NotContains(t, flat, w)
			}
		})
	}
}

func TestRenderCodeBlockKeepsIndentation(t *testing.T) {
	d := render(t, "```\nfunc f() {\n\tif  x {\n}\n```", pdf.Options{})
	// Leading spaces and runs of spaces are no-break spaces on paper.
	assert.Equal(t, []string{"func f() {", "\u00a0\u00a0\u00a0\u00a0if\u00a0\u00a0x {", "}", "Page 1 of 1"}, d.Pages[0])
}

func TestRenderBreaksLongInputIntoNumberedPages(t *testing.T) {
	var b strings.Builder
	b.WriteString("# A long export\n\n")
	for i := range 200 {
		fmt.Fprintf(&b, "Paragraph %d: the actor posted the same listing again with a new photo and price.\n\n", i)
	}
	d := render(t, b.String(), pdf.Options{Footer: "CF-2026-7 · exported 2026-03-02T09:00:00Z", Created: created})

	require.Greater(t, len(d.Pages), 1)
	flat := d.Flat()
	at := 0
	for i := range 200 {
		want := fmt.Sprintf("Paragraph %d: the actor posted", i)
		j := strings.Index(flat[at:], want)
		require.GreaterOrEqual(t, j, 0, "paragraph %d is present, after paragraph %d", i, i-1)
		at += j + len(want)
		assert.Equal(t, 1, strings.Count(flat, want+" "), "paragraph %d once", i)
	}
	for i, page := range d.Pages {
		require.NotEmpty(t, page)
		assert.Equal(t, fmt.Sprintf("CF-2026-7 · exported 2026-03-02T09:00:00Z Page %d of %d", i+1, len(d.Pages)), page[len(page)-1],
			"the footer is the last line of page %d", i+1)
	}
}

func TestRenderKeepsHeadingsWithTheirText(t *testing.T) {
	var b strings.Builder
	for i := range 40 {
		fmt.Fprintf(&b, "## Heading %d\n\nText under heading %d, long enough to take a line or two of the page.\n\n", i, i)
	}
	d := render(t, b.String(), pdf.Options{})
	require.Greater(t, len(d.Pages), 1)
	for i, page := range d.Pages {
		body := page[:len(page)-1] // the footer
		last := body[len(body)-1]
		assert.False(t, strings.HasPrefix(last, "Heading "), "page %d ends with a heading: %q", i+1, last)
	}
}

func TestRenderDrawsMissingGlyphsAsReplacementCharacters(t *testing.T) {
	// Hebrew, Arabic, CJK, an emoji (beyond the BMP) and a dingbat: the Go
	// fonts have none of them, in any of the four faces.
	md := "# שלום 中文\n\nשלום عربي 中文 😀 ✓ done\n\n**中** *😀* `✓`"
	d := render(t, md, pdf.Options{Title: "Title 😀 中", Footer: "footer ✓"})
	flat := d.Flat()
	for _, s := range []string{"ש", "ع", "中", "😀", "✓"} {
		assert.NotContains(t, flat, s)
	}
	assert.Contains(t, flat, "���� ����")
	assert.Contains(t, flat, "done")
	assert.Contains(t, flat, "footer �")
	assert.Equal(t, "Title � 中", d.Title, "characters beyond the BMP cannot go into the title as gopdf writes it")
}

func TestRenderBreaksLongWordsBetweenCharacters(t *testing.T) {
	sum := strings.Repeat("0123456789abcdef", 40) // 640 characters, no space
	d := render(t, "SHA-256: `"+sum+"`", pdf.Options{})
	lines := d.Pages[0]
	require.Equal(t, "SHA-256:", lines[0], "the word does not fit beside the label")
	require.Equal(t, "Page 1 of 1", lines[len(lines)-1])
	lines = lines[1 : len(lines)-1]
	require.Greater(t, len(lines), 2, "the word takes several lines")
	assert.Equal(t, sum, strings.Join(lines, ""), "and every character is there once, in order")
}

func TestRenderSurvivesDeepNestingAndEmptyInput(t *testing.T) {
	tests := map[string]string{
		"empty":          "",
		"nested_lists":   strings.Repeat("- ", 200) + "deep",
		"nested_quotes":  strings.Repeat(">", 300) + " deep",
		"empty_items":    "- \n- \n1. \n",
		"wide_table":     "|" + strings.Repeat(" c |", 60) + "\n|" + strings.Repeat("---|", 60) + "\n|" + strings.Repeat(" x |", 60),
		"tall_table_row": "| a | b |\n|---|---|\n| " + strings.Repeat("word ", 3000) + " | b |",
	}
	for name, md := range tests {
		t.Run(name, func(t *testing.T) {
			d := render(t, md, pdf.Options{})
			if strings.Contains(md, "deep") {
				assert.Contains(t, d.Flat(), "deep")
			}
		})
	}
}

func TestRenderCompressedReadsTheSame(t *testing.T) {
	md := "# Title\n\nSome **text** with `code`.\n\n- a\n- b"
	plain := render(t, md, pdf.Options{Created: created})
	b, err := pdf.Render(md, pdf.Options{Created: created})
	require.NoError(t, err)
	require.True(t, bytes.Contains(b, []byte("/FlateDecode")), "content streams are deflated by default")
	packed, err := pdftest.Parse(b)
	require.NoError(t, err)
	assert.Equal(t, plain.Pages, packed.Pages)
}
