// Package pdf renders the Markdown of Casefile's exports (a case, a
// postmortem) as a PDF document, in pure Go: github.com/signintech/gopdf
// lays the pages out and the Go fonts (golang.org/x/image/font/gofont) are
// embedded, subset to the glyphs a document uses, so the server needs no
// browser and no system font at run time.
//
// It renders what goldmark parses (CommonMark with GFM tables):
// headings, paragraphs wrapped at word boundaries (a word longer than the
// line is broken between characters), bold, italic, code spans and code
// blocks in Go Mono, bullet and numbered lists to any depth, block quotes,
// thematic breaks, tables, links (their text, then the address in
// parentheses when it differs) and images (as "[image: alt]"). Raw HTML is
// printed as the text it is, never interpreted. Pages break by themselves
// and a heading is never left alone at the foot of a page; every page
// carries a footer with Options.Footer at the left and "Page i of n" at the
// right. A4, left to right only (right-to-left scripts are not shaped).
//
// Glyphs. The Go fonts cover Latin, Greek and Cyrillic (WGL4) and a few
// symbols (•, –, …, €, →); they have no Hebrew, Arabic, CJK, emoji or
// dingbats (✓). gopdf draws a character its font lacks as a space by
// default, which silently loses text; this package draws it as U+FFFD "�"
// (which the Go fonts have), so a reader sees that something was there.
// The Markdown export keeps the original characters.
package pdf

import (
	"bufio"
	"bytes"
	"fmt"
	stdhtml "html"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/signintech/gopdf"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
)

// Options shape one document.
type Options struct {
	// Title is the document's title in its information dictionary.
	Title string
	// Footer is printed at the foot of every page, e.g. the exported
	// object's key and the export time.
	Footer string
	// Created is the creation date in the information dictionary (none
	// when zero), so that a document can be reproduced byte for byte.
	Created time.Time
	// Uncompressed leaves page content streams uncompressed, for
	// inspection; the default deflates them.
	Uncompressed bool
}

// Page geometry, in points (A4).
const (
	pageW, pageH = 595.28, 841.89
	margin       = 56.0
	bottom       = pageH - margin // content stops above this line
	footerBase   = pageH - 28     // baseline of the footer
	bodySize     = 10.5
	codeSize     = 9.0
	footerSize   = 8.0
	leading      = 1.35 // line height as a multiple of the font size
	paraGap      = 6.0
	// minWidth is the narrowest measure text is set in, however deeply
	// lists and quotes nest.
	minWidth = 120.0
	// cellPad is a table cell's inner padding.
	cellPad = 3.0
)

// style is a typeface of the document.
type style int

const (
	regular style = iota
	bold
	italic
	mono
)

var faces = []struct {
	name string
	ttf  []byte
}{
	regular: {"go-regular", goregular.TTF},
	bold:    {"go-bold", gobold.TTF},
	italic:  {"go-italic", goitalic.TTF},
	mono:    {"go-mono", gomono.TTF},
}

// face is a typeface at a size.
type face struct {
	st   style
	size float64
}

// span is a run of inline text in one style; brk marks a hard line break.
type span struct {
	text string
	st   style
	brk  bool
}

// word is a unit of line breaking: text without spaces in one style,
// and whether a space precedes it.
type word struct {
	text  string
	st    style
	space bool
	brk   bool
}

// marker is a list item's bullet or number, drawn beside the item's
// first line wherever that line lands (possibly on the next page).
type marker struct {
	text string
	x    float64
}

type renderer struct {
	pdf     *gopdf.GoPdf
	src     []byte
	y       float64 // top of the next line on the current page
	pages   int
	current face
	widths  map[widthKey]float64
	pending *marker
	err     error
}

type widthKey struct {
	f face
	s string
}

var md = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.TaskList))

// Render lays markdown out as a PDF document.
func Render(markdown string, o Options) ([]byte, error) {
	src := []byte(strings.ToValidUTF8(markdown, "\uFFFD"))
	doc := md.Parser().Parse(text.NewReader(src))

	p := &gopdf.GoPdf{}
	p.Start(gopdf.Config{PageSize: gopdf.Rect{W: pageW, H: pageH}, Unit: gopdf.UnitPT})
	if o.Uncompressed {
		p.SetNoCompression()
	}
	for _, f := range faces {
		opt := gopdf.TtfOption{OnGlyphNotFoundSubstitute: func(rune) rune { return utf8.RuneError }}
		if err := p.AddTTFFontDataWithOption(f.name, f.ttf, opt); err != nil {
			return nil, fmt.Errorf("pdf: font %s: %w", f.name, err)
		}
	}
	p.SetInfo(gopdf.PdfInfo{Title: bmp(o.Title), Producer: "Casefile", CreationDate: o.Created})
	r := &renderer{pdf: p, src: src, widths: map[widthKey]float64{}, current: face{st: -1}}
	r.newPage()
	r.blocks(doc, margin, pageW-margin)
	r.flushMarker(margin, pageW-margin)
	r.footers(o.Footer)
	if r.err != nil {
		return nil, fmt.Errorf("pdf: %w", r.err)
	}
	out, err := p.GetBytesPdfReturnErr()
	if err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	return out, nil
}

// bmp replaces characters beyond the Basic Multilingual Plane: gopdf
// writes the information dictionary's strings as four hex digits per
// rune, so a rune above U+FFFF would corrupt the string (measured: an
// emoji in the title yields an odd number of hex digits).
func bmp(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 0xFFFF {
			return utf8.RuneError
		}
		return r
	}, s)
}

func (r *renderer) fail(err error) {
	if err != nil && r.err == nil {
		r.err = err
	}
}

func (r *renderer) newPage() {
	r.pdf.AddPage()
	// Any drawing operation gives the page its content stream, which
	// SetPage needs to find the page again for its footer: gopdf creates
	// a page's content object lazily, and SetPage counts content objects
	// (measured: a page left empty made SetPage fail with "invalid page
	// number").
	r.pdf.SetLineWidth(0.5)
	r.pages++
	r.y = margin
}

// room breaks the page unless h more points fit on it. An empty page
// takes anything: a block taller than a page runs on line by line.
func (r *renderer) room(h float64) {
	if r.y+h > bottom && r.y > margin {
		r.newPage()
	}
}

func (r *renderer) setFont(f face) {
	if f == r.current {
		return
	}
	r.current = f
	r.fail(r.pdf.SetFont(faces[f.st].name, "", f.size))
}

func (r *renderer) width(f face, s string) float64 {
	k := widthKey{f, s}
	if w, ok := r.widths[k]; ok {
		return w
	}
	r.setFont(f)
	w, err := r.pdf.MeasureTextWidth(s)
	r.fail(err)
	r.widths[k] = w
	return w
}

func (r *renderer) text(f face, x, baseline float64, s string) {
	if s == "" {
		return
	}
	r.setFont(f)
	r.pdf.SetXY(x, baseline)
	r.fail(r.pdf.Text(s))
}

// --- blocks ---

func (r *renderer) blocks(parent ast.Node, left, right float64) {
	for n := parent.FirstChild(); n != nil && r.err == nil; n = n.NextSibling() {
		r.block(n, left, right)
	}
}

func (r *renderer) block(n ast.Node, left, right float64) {
	left = min(left, right-minWidth)
	switch n := n.(type) {
	case *ast.Heading:
		size := map[int]float64{1: 18, 2: 14, 3: 12}[n.Level]
		if size == 0 {
			size = 11
		}
		if r.y > margin {
			r.y += size * 0.5
		}
		// Keep the heading with the two lines after it.
		r.room(size*leading + 2*bodySize*leading)
		r.paragraph(r.inlines(n, bold), face{bold, size}, left, right)
		r.y += paraGap * 0.5
	case *ast.Paragraph:
		r.paragraph(r.inlines(n, regular), face{regular, bodySize}, left, right)
		r.y += paraGap
	case *ast.TextBlock: // a tight list item's text
		r.paragraph(r.inlines(n, regular), face{regular, bodySize}, left, right)
		r.y += 1.5
	case *ast.List:
		r.list(n, left, right)
		r.y += paraGap * 0.5
	case *ast.Blockquote:
		r.blocks(n, left+14, right)
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		r.code(r.lines(n), left+8, right)
		r.y += paraGap
	case *ast.HTMLBlock:
		lines := r.lines(n)
		if n.HasClosure() {
			lines = append(lines, string(n.ClosureLine.Value(r.src)))
		}
		for _, l := range lines {
			r.paragraph([]span{{text: strings.TrimRight(l, "\r\n"), st: regular}}, face{regular, bodySize}, left, right)
		}
		r.y += paraGap
	case *ast.ThematicBreak:
		r.room(paraGap * 2)
		r.y += paraGap
		r.pdf.SetLineWidth(0.5)
		r.pdf.Line(left, r.y, right, r.y)
		r.y += paraGap
	case *east.Table:
		r.table(n, left, right)
		r.y += paraGap
	default:
		r.blocks(n, left, right)
	}
}

// lines are a block's source lines, raw.
func (r *renderer) lines(n ast.Node) []string {
	var out []string
	ls := n.Lines()
	for i := range ls.Len() {
		seg := ls.At(i)
		out = append(out, string(seg.Value(r.src)))
	}
	return out
}

func (r *renderer) list(l *ast.List, left, right float64) {
	n := l.Start
	for item := l.FirstChild(); item != nil && r.err == nil; item = item.NextSibling() {
		label := "•"
		indent := 14.0
		if l.IsOrdered() {
			label = fmt.Sprintf("%d%c", n, l.Marker)
			indent = max(indent, r.width(face{regular, bodySize}, label)+6)
			n++
		}
		r.flushMarker(left, right)
		r.pending = &marker{text: label, x: left}
		r.blocks(item, left+indent, right)
		r.flushMarker(left, right)
	}
}

// flushMarker draws a marker no line has carried (an empty list item) on
// a line of its own.
func (r *renderer) flushMarker(left, right float64) {
	if r.pending != nil {
		r.paragraph(nil, face{regular, bodySize}, left, right)
	}
}

// code sets code lines in Go Mono, each broken between characters where
// it is longer than the measure.
func (r *renderer) code(lines []string, left, right float64) {
	f := face{mono, codeSize}
	for _, l := range lines {
		l = strings.TrimRight(l, "\r\n")
		l = strings.ReplaceAll(l, "\t", "    ")
		r.paragraph([]span{{text: hardSpaces(l), st: mono}}, f, left, right)
	}
}

// hardSpaces keeps a code line's indentation and alignment: leading
// spaces and runs of spaces become no-break spaces, which line breaking
// leaves alone; a single space between words stays a break point.
func hardSpaces(l string) string {
	rs := []rune(l)
	out := make([]rune, len(rs))
	for i, c := range rs {
		out[i] = c
		if c != ' ' {
			continue
		}
		lone := i > 0 && rs[i-1] != ' ' && i+1 < len(rs) && rs[i+1] != ' '
		if !lone {
			out[i] = '\u00a0'
		}
	}
	return string(out)
}

// paragraph sets spans in f, wrapped to [left, right].
func (r *renderer) paragraph(spans []span, f face, left, right float64) {
	lh := f.size * leading
	lines := r.wrap(words(spans), f.size, right-left)
	if len(lines) == 0 {
		lines = [][]word{nil} // an empty paragraph still takes a line
	}
	for _, line := range lines {
		if r.err != nil {
			return
		}
		r.room(lh)
		r.drawLine(line, f.size, left, r.y+f.size)
		r.y += lh
	}
}

// drawLine draws a line's words from x at baseline, one text run per
// style, spaces included so that the text reads back as written.
func (r *renderer) drawLine(line []word, size, x, baseline float64) {
	if m := r.pending; m != nil {
		// The trailing space is invisible; it keeps the marker a word of
		// its own for whoever copies or extracts the text.
		r.text(face{regular, bodySize}, m.x, baseline, m.text+" ")
		r.pending = nil
	}
	var run strings.Builder
	st := regular
	flush := func() {
		s := run.String()
		if s == "" {
			return
		}
		f := face{st, size}
		r.text(f, x, baseline, s)
		x += r.width(f, s)
		run.Reset()
	}
	for i, w := range line {
		if w.st != st {
			flush()
			st = w.st
		}
		if w.space && i > 0 {
			run.WriteByte(' ')
		}
		run.WriteString(w.text)
	}
	flush()
}

// wrap breaks words into lines no wider than width.
func (r *renderer) wrap(ws []word, size, width float64) [][]word {
	var lines [][]word
	var line []word
	used := 0.0
	end := func() {
		lines = append(lines, line)
		line, used = nil, 0
	}
	for _, w := range ws {
		if w.brk {
			end()
			continue
		}
		f := face{w.st, size}
		ww := r.width(f, w.text)
		sp := 0.0
		if w.space && len(line) > 0 {
			sp = r.width(f, " ")
		}
		if len(line) > 0 && used+sp+ww > width {
			end()
			sp = 0
		}
		if ww <= width {
			line = append(line, w)
			used += sp + ww
			continue
		}
		// Longer than a line: its own lines, broken between characters.
		if len(line) > 0 {
			end()
		}
		ps := r.pieces(f, w.text, width)
		for i, p := range ps {
			line = append(line, word{text: p, st: w.st})
			if i < len(ps)-1 {
				end()
			} else {
				used = r.width(f, p)
			}
		}
	}
	if len(line) > 0 {
		lines = append(lines, line)
	}
	return lines
}

// pieces cuts s into runs no wider than width, each of at least one
// character, so that a narrow measure cannot stall. Widths add up rune by
// rune (the fonts are set without kerning).
func (r *renderer) pieces(f face, s string, width float64) []string {
	var out []string
	start, used := 0, 0.0
	for i, c := range s {
		w := r.width(f, string(c))
		if i > start && used+w > width {
			out = append(out, s[start:i])
			start, used = i, 0
		}
		used += w
	}
	return append(out, s[start:])
}

// words splits spans at spaces.
func words(spans []span) []word {
	var out []word
	space := false
	for _, s := range spans {
		if s.brk {
			out = append(out, word{brk: true})
			space = false
			continue
		}
		start := -1
		for i, c := range s.text {
			if c == ' ' {
				if start >= 0 {
					out = append(out, word{text: s.text[start:i], st: s.st, space: space})
					start = -1
				}
				space = true
				continue
			}
			if start < 0 {
				start = i
			}
		}
		if start >= 0 {
			out = append(out, word{text: s.text[start:], st: s.st, space: space})
			space = false
		}
	}
	return out
}

// --- tables ---

func (r *renderer) table(t *east.Table, left, right float64) {
	var rows [][][]span
	header := 0
	for row := t.FirstChild(); row != nil; row = row.NextSibling() {
		st := regular
		if _, ok := row.(*east.TableHeader); ok {
			st, header = bold, 1
		}
		var cells [][]span
		for c := row.FirstChild(); c != nil; c = c.NextSibling() {
			cells = append(cells, r.inlines(c, st))
		}
		rows = append(rows, cells)
	}
	cols := 0
	for _, row := range rows {
		cols = max(cols, len(row))
	}
	if cols == 0 {
		return
	}
	widths := r.columns(rows, cols, right-left)
	f := face{regular, bodySize}
	lh := f.size * leading
	r.pdf.SetLineWidth(0.5)
	for i, row := range rows {
		wrapped := make([][][]word, cols)
		n := 1
		for c := range cols {
			if c < len(row) {
				wrapped[c] = r.wrap(words(row[c]), f.size, widths[c]-2*cellPad)
				n = max(n, len(wrapped[c]))
			}
		}
		r.room(min(float64(n)*lh, bottom-margin) + 2*cellPad)
		r.y += cellPad
		for line := range n {
			r.room(lh)
			x := left
			for c := range cols {
				if line < len(wrapped[c]) {
					// A trailing space keeps cells apart in extracted text.
					r.drawLine(append(slices.Clone(wrapped[c][line]), word{text: " "}), f.size, x+cellPad, r.y+f.size)
				}
				x += widths[c]
			}
			r.y += lh
		}
		r.y += cellPad
		if i < header {
			r.pdf.SetLineWidth(1)
		}
		r.pdf.Line(left, r.y, right, r.y)
		r.pdf.SetLineWidth(0.5)
	}
}

// columns shares width among cols: a column whose widest cell fits in an
// even share of what is left gets that width; the rest share what remains
// in proportion to their widest cells; the last column takes any slack.
func (r *renderer) columns(rows [][][]span, cols int, width float64) []float64 {
	natural := make([]float64, cols)
	for _, row := range rows {
		for c, cell := range row {
			w := 2 * cellPad
			for _, s := range cell {
				w += r.width(face{s.st, bodySize}, s.text)
			}
			natural[c] = max(natural[c], w, 4*cellPad)
		}
	}
	out := make([]float64, cols)
	open := make([]bool, cols)
	for c := range open {
		open[c] = true
	}
	left, n := width, cols
	for fixed := true; fixed && n > 0; {
		fixed = false
		share := left / float64(n)
		for c := range cols {
			if open[c] && natural[c] <= share {
				out[c], open[c] = natural[c], false
				left -= natural[c]
				n--
				fixed = true
			}
		}
	}
	total := 0.0
	for c := range cols {
		if open[c] {
			total += natural[c]
		}
	}
	for c := range cols {
		if open[c] {
			out[c] = left * natural[c] / total
		}
	}
	if n == 0 {
		out[cols-1] += left
	}
	return out
}

// --- inline text ---

// inlines flattens n's inline children into spans, in st unless they say
// otherwise.
func (r *renderer) inlines(n ast.Node, st style) []span {
	var out []span
	add := func(s string, st style) {
		if s = clean(s); s != "" {
			out = append(out, span{text: s, st: st})
		}
	}
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			v := c.Segment.Value(r.src)
			if c.IsRaw() || st == mono {
				add(string(v), st)
			} else {
				add(unescape(v), st)
			}
			switch {
			case c.HardLineBreak():
				out = append(out, span{brk: true})
			case c.SoftLineBreak():
				add(" ", st)
			}
		case *ast.String:
			if c.IsCode() || c.IsRaw() {
				add(string(c.Value), st)
			} else {
				add(unescape(c.Value), st)
			}
		case *ast.CodeSpan:
			var b strings.Builder
			for t := c.FirstChild(); t != nil; t = t.NextSibling() {
				if tx, ok := t.(*ast.Text); ok {
					b.Write(tx.Segment.Value(r.src))
				}
			}
			add(strings.ReplaceAll(b.String(), "\n", " "), mono)
		case *ast.Emphasis:
			inner := st
			if st != mono {
				inner = italic
				if c.Level >= 2 {
					inner = bold
				}
			}
			out = append(out, r.inlines(c, inner)...)
		case *ast.Link:
			label := r.inlines(c, st)
			out = append(out, label...)
			if dest := string(c.Destination); dest != "" && dest != plainText(label) {
				add(" ("+dest+")", st)
			}
		case *ast.AutoLink:
			add(string(c.Label(r.src)), st)
		case *ast.Image:
			add("[image: "+plainText(r.inlines(c, st))+"]", st)
		case *ast.RawHTML:
			for i := range c.Segments.Len() {
				seg := c.Segments.At(i)
				add(string(seg.Value(r.src)), st)
			}
		case *east.TaskCheckBox:
			if c.IsChecked {
				add("[x] ", st)
			} else {
				add("[ ] ", st)
			}
		default:
			out = append(out, r.inlines(c, st)...)
		}
	}
	return out
}

func plainText(spans []span) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.text)
	}
	return b.String()
}

// unescape reads Markdown text as a reader sees it: backslash escapes and
// entity references resolved exactly as goldmark's HTML writer does (it
// writes HTML-escaped text, which html.UnescapeString turns back).
func unescape(v []byte) string {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	html.DefaultWriter.Write(w, v)
	_ = w.Flush()
	return stdhtml.UnescapeString(b.String())
}

// clean makes text drawable: tabs and line ends become spaces, other
// control characters go (they have no glyph and no meaning on paper).
func clean(s string) string {
	return strings.Map(func(c rune) rune {
		switch {
		case c == '\t' || c == '\n' || c == '\r':
			return ' '
		case unicode.IsControl(c):
			return -1
		}
		return c
	}, s)
}

// --- footers ---

// footers writes every page's footer once the page count is known.
func (r *renderer) footers(text string) {
	f := face{regular, footerSize}
	last := fmt.Sprintf("Page %d of %d", r.pages, r.pages)
	text = r.fit(f, clean(text), pageW-2*margin-r.width(f, last)-12)
	for i := 1; i <= r.pages && r.err == nil; i++ {
		r.fail(r.pdf.SetPage(i))
		num := fmt.Sprintf("Page %d of %d", i, r.pages)
		if text != "" {
			r.text(f, margin, footerBase, text+" ")
		}
		r.text(f, pageW-margin-r.width(f, num), footerBase, num)
	}
}

// fit shortens s with an ellipsis until it is no wider than width.
// Widths add up rune by rune (no kerning), so one pass finds the cut.
func (r *renderer) fit(f face, s string, width float64) string {
	if r.width(f, s) <= width {
		return s
	}
	room := width - r.width(f, "…")
	used, cut := 0.0, 0
	for i, c := range s {
		used += r.width(f, string(c))
		if used > room {
			break
		}
		cut = i + utf8.RuneLen(c)
	}
	return strings.TrimRightFunc(s[:cut], unicode.IsSpace) + "…"
}
