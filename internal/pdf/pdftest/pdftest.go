// Package pdftest reads back the PDF documents package pdf writes, for
// tests: it checks the file's structure (header, cross-reference table,
// trailer) and extracts the text of every page the way a PDF reader
// does — through each font's ToUnicode map, since gopdf writes text as
// glyph ids of a subset font. It reads what gopdf v0.33 writes (one
// "x y TD" and one TJ array per BT block); it is no general PDF parser.
package pdftest

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Doc is a parsed document.
type Doc struct {
	// Pages holds, per page, its lines of text from top to bottom; the
	// runs of one baseline are joined left to right.
	Pages [][]string
	// Title is the information dictionary's title.
	Title string
}

// Text is every page's lines joined with newlines, pages with a form feed.
func (d Doc) Text() string {
	var pages []string
	for _, p := range d.Pages {
		pages = append(pages, strings.Join(p, "\n"))
	}
	return strings.Join(pages, "\f")
}

// Flat is the whole text with every run of white space (line and page
// ends included) as one space, so that a phrase wrapped across lines or
// pages reads as written.
func (d Doc) Flat() string { return strings.Join(strings.Fields(d.Text()), " ") }

type object struct {
	dict   string
	stream []byte
}

var (
	objStart   = regexp.MustCompile(`(?m)^(\d+) 0 obj\b`)
	lengthRe   = regexp.MustCompile(`/Length (\d+)`)
	refRe      = func(key string) *regexp.Regexp { return regexp.MustCompile(key + `\s+(\d+) 0 R`) }
	fontRefRe  = regexp.MustCompile(`/F(\d+) (\d+) 0 R`)
	kidsRe     = regexp.MustCompile(`/Kids \[([^\]]*)\]`)
	bfrangeRe  = regexp.MustCompile(`<([0-9A-Fa-f]+)><([0-9A-Fa-f]+)><([0-9A-Fa-f]+)>`)
	tdRe       = regexp.MustCompile(`^(-?[\d.]+) (-?[\d.]+) TD$`)
	tfRe       = regexp.MustCompile(`^/F(\d+) [\d.]+ Tf`)
	hexRe      = regexp.MustCompile(`<([0-9A-Fa-f]*)>`)
	startxref  = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)
	xrefEntry  = regexp.MustCompile(`(?m)^(\d{10}) (\d{5}) ([nf])`)
	titleRe    = regexp.MustCompile(`/Title <FEFF([0-9A-Fa-f]*)>`)
	contentsRe = refRe(`/Contents`)
	toUniRe    = refRe(`/ToUnicode`)
)

// Parse checks b's structure and extracts its text.
func Parse(b []byte) (Doc, error) {
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		return Doc{}, fmt.Errorf("pdftest: no %%PDF- header")
	}
	objs, offsets, err := objects(b)
	if err != nil {
		return Doc{}, err
	}
	if err := checkXref(b, offsets); err != nil {
		return Doc{}, err
	}
	var d Doc
	if m := titleRe.FindStringSubmatch(string(b)); m != nil {
		d.Title = utf16Hex(m[1])
	}
	// Pages, in the order of the page tree's /Kids.
	var kids []int
	for _, o := range objs {
		if strings.Contains(o.dict, "/Type /Pages") {
			m := kidsRe.FindStringSubmatch(o.dict)
			if m == nil {
				return Doc{}, fmt.Errorf("pdftest: a page tree without /Kids")
			}
			for _, f := range regexp.MustCompile(`(\d+) 0 R`).FindAllStringSubmatch(m[1], -1) {
				n, _ := strconv.Atoi(f[1])
				kids = append(kids, n)
			}
		}
	}
	for _, k := range kids {
		page, ok := objs[k]
		if !ok || !strings.Contains(page.dict, "/Type /Page") {
			return Doc{}, fmt.Errorf("pdftest: kid %d is not a page", k)
		}
		fonts, err := pageFonts(objs, page.dict)
		if err != nil {
			return Doc{}, err
		}
		m := contentsRe.FindStringSubmatch(page.dict)
		if m == nil {
			return Doc{}, fmt.Errorf("pdftest: page %d has no contents", k)
		}
		n, _ := strconv.Atoi(m[1])
		content, ok := objs[n]
		if !ok {
			return Doc{}, fmt.Errorf("pdftest: page %d: no content object %d", k, n)
		}
		data := content.stream
		if strings.Contains(content.dict, "/FlateDecode") {
			zr, err := zlib.NewReader(bytes.NewReader(data))
			if err != nil {
				return Doc{}, fmt.Errorf("pdftest: inflate page %d: %w", k, err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				return Doc{}, fmt.Errorf("pdftest: inflate page %d: %w", k, err)
			}
		}
		lines, err := pageText(data, fonts)
		if err != nil {
			return Doc{}, fmt.Errorf("pdftest: page %d: %w", k, err)
		}
		d.Pages = append(d.Pages, lines)
	}
	if len(d.Pages) == 0 {
		return Doc{}, fmt.Errorf("pdftest: no pages")
	}
	return d, nil
}

// objects reads every "n 0 obj" with its dictionary and, where it has
// one, its stream of exactly /Length bytes.
func objects(b []byte) (map[int]object, map[int]int, error) {
	out, offsets := map[int]object{}, map[int]int{}
	locs := objStart.FindAllSubmatchIndex(b, -1)
	pos := 0
	for _, loc := range locs {
		if loc[0] < pos {
			continue // inside the previous object's stream
		}
		n, _ := strconv.Atoi(string(b[loc[2]:loc[3]]))
		rest := b[loc[1]:]
		end := bytes.Index(rest, []byte("endobj"))
		st := bytes.Index(rest, []byte("stream\n"))
		if end < 0 {
			return nil, nil, fmt.Errorf("pdftest: object %d has no endobj", n)
		}
		o := object{}
		if st >= 0 && st < end {
			o.dict = string(rest[:st])
			m := lengthRe.FindStringSubmatch(o.dict)
			if m == nil {
				return nil, nil, fmt.Errorf("pdftest: stream of object %d has no /Length", n)
			}
			l, _ := strconv.Atoi(m[1])
			from := st + len("stream\n")
			if from+l > len(rest) {
				return nil, nil, fmt.Errorf("pdftest: stream of object %d runs past the file", n)
			}
			o.stream = rest[from : from+l]
			after := rest[from+l:]
			if !bytes.HasPrefix(bytes.TrimLeft(after, "\r\n"), []byte("endstream")) {
				return nil, nil, fmt.Errorf("pdftest: stream of object %d is not %d bytes long", n, l)
			}
			end = from + l + bytes.Index(after, []byte("endobj"))
		} else {
			o.dict = string(rest[:end])
		}
		out[n] = o
		offsets[n] = loc[0]
		pos = loc[1] + end
	}
	return out, offsets, nil
}

// checkXref: startxref points at the table, and every entry in use points
// at its object.
func checkXref(b []byte, offsets map[int]int) error {
	m := startxref.FindSubmatch(b)
	if m == nil {
		return fmt.Errorf("pdftest: no startxref at the end")
	}
	at, _ := strconv.Atoi(string(m[1]))
	if at >= len(b) || !bytes.HasPrefix(b[at:], []byte("xref")) {
		return fmt.Errorf("pdftest: startxref %d does not point at the xref table", at)
	}
	table := b[at:]
	if i := bytes.Index(table, []byte("trailer")); i >= 0 {
		table = table[:i]
	} else {
		return fmt.Errorf("pdftest: no trailer")
	}
	used := 0
	for i, e := range xrefEntry.FindAllSubmatch(table, -1) {
		if string(e[3]) != "n" {
			continue
		}
		off, _ := strconv.Atoi(string(e[1]))
		if got, ok := offsets[i]; !ok || got != off {
			return fmt.Errorf("pdftest: xref entry %d points at %d, the object is at %d", i, off, got)
		}
		used++
	}
	if used != len(offsets) {
		return fmt.Errorf("pdftest: xref lists %d objects, the file has %d", used, len(offsets))
	}
	return nil
}

// pageFonts maps a page's font numbers (/F1 …) to glyph → text maps.
func pageFonts(objs map[int]object, pageDict string) (map[string]map[uint16]string, error) {
	m := refRe(`/Resources`).FindStringSubmatch(pageDict)
	if m == nil {
		return nil, fmt.Errorf("pdftest: page without resources")
	}
	n, _ := strconv.Atoi(m[1])
	res := objs[n].dict
	out := map[string]map[uint16]string{}
	for _, f := range fontRefRe.FindAllStringSubmatch(res, -1) {
		fn, _ := strconv.Atoi(f[2])
		tu := toUniRe.FindStringSubmatch(objs[fn].dict)
		if tu == nil {
			return nil, fmt.Errorf("pdftest: font %s has no ToUnicode map", f[1])
		}
		cn, _ := strconv.Atoi(tu[1])
		cmap := map[uint16]string{}
		for _, r := range bfrangeRe.FindAllStringSubmatch(string(objs[cn].stream), -1) {
			lo, _ := strconv.ParseUint(r[1], 16, 16)
			hi, _ := strconv.ParseUint(r[2], 16, 16)
			to := utf16Hex(r[3])
			if lo != hi {
				return nil, fmt.Errorf("pdftest: a bfrange of more than one glyph")
			}
			cmap[uint16(lo)] = to
		}
		out[f[1]] = cmap
	}
	return out, nil
}

type run struct {
	x, y float64
	text string
}

// pageText reads a content stream's text runs and joins them into lines.
func pageText(data []byte, fonts map[string]map[uint16]string) ([]string, error) {
	var runs []run
	var x, y float64
	var cmap map[uint16]string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case tdRe.MatchString(line):
			m := tdRe.FindStringSubmatch(line)
			x, _ = strconv.ParseFloat(m[1], 64)
			y, _ = strconv.ParseFloat(m[2], 64)
		case tfRe.MatchString(line):
			m := tfRe.FindStringSubmatch(line)
			cmap = fonts[m[1]]
			if cmap == nil {
				return nil, fmt.Errorf("font /F%s is not among the page's resources", m[1])
			}
		case strings.HasSuffix(line, "TJ"):
			var b strings.Builder
			for _, h := range hexRe.FindAllStringSubmatch(line, -1) {
				for i := 0; i+4 <= len(h[1]); i += 4 {
					g, _ := strconv.ParseUint(h[1][i:i+4], 16, 16)
					s, ok := cmap[uint16(g)]
					if !ok {
						return nil, fmt.Errorf("glyph %04X is not in the font's ToUnicode map", g)
					}
					b.WriteString(s)
				}
			}
			runs = append(runs, run{x: x, y: y, text: b.String()})
		}
	}
	// Lines top to bottom (PDF y grows upwards), runs left to right.
	sort.SliceStable(runs, func(i, j int) bool {
		if runs[i].y != runs[j].y {
			return runs[i].y > runs[j].y
		}
		return runs[i].x < runs[j].x
	})
	var lines []string
	for i := 0; i < len(runs); {
		j := i
		var b strings.Builder
		for ; j < len(runs) && runs[j].y == runs[i].y; j++ {
			b.WriteString(runs[j].text)
		}
		lines = append(lines, b.String())
		i = j
	}
	return lines, nil
}

// utf16Hex decodes big-endian UTF-16 written as hex digits.
func utf16Hex(h string) string {
	var rs []rune
	for i := 0; i+4 <= len(h); i += 4 {
		v, _ := strconv.ParseUint(h[i:i+4], 16, 16)
		rs = append(rs, rune(v))
	}
	return string(rs)
}
