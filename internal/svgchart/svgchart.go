// Package svgchart draws simple bar charts as SVG for server-rendered
// pages: no script, no stylesheet of its own and no style attributes (the
// pages' CSP refuses them), only presentation attributes. Every text it
// writes is escaped, and the chart is an image with a title for assistive
// technology; pages put the same numbers in a table beside it.
package svgchart

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Series is one named set of values, one per category.
type Series struct {
	Name   string
	Values []float64
}

// Chart is a bar chart: one bar (or, stacked, one column of segments) per
// category.
type Chart struct {
	// Title names the chart; it is the SVG's <title> and aria-label.
	Title      string
	Categories []string
	Series     []Series
	// Stacked piles the series of a category on each other; otherwise
	// they stand side by side.
	Stacked bool
	// Horizontal draws bars from a left axis (for long category labels).
	Horizontal bool
	// Max is the top of the scale; zero picks a round number above the
	// largest bar.
	Max float64
	// Whole keeps the axis ticks (quarters of the scale) whole numbers,
	// for counts.
	Whole bool
	// Format prints a value (axis ticks and bar titles); nil prints it
	// with up to two decimals.
	Format func(float64) string
	// Width and Height of the drawing; zero picks 640 by a height that
	// fits the bars.
	Width, Height float64
}

// Rect is one bar segment as drawn.
type Rect struct {
	Series, Category int
	X, Y, W, H       float64
	Value            float64
}

// Margins of the plot area.
const (
	marginTop    = 28 // room for the legend
	marginRight  = 16
	marginBottom = 40
	marginLeft   = 48
	labelWidth   = 160 // left margin of a horizontal chart
	rowHeight    = 28  // per category of a horizontal chart
	// maxLabel is how many characters of a category label are drawn; the
	// table beside the chart has the whole label.
	maxLabel = 24
)

// Palette fills the series in turn; each has at least 4.5:1 contrast on
// white.
var Palette = []string{"#0b57d0", "#a40e26", "#116329", "#7a4a00", "#6639ba", "#4a5360"}

func (c Chart) size() (w, h float64) {
	w, h = c.Width, c.Height
	if w <= 0 {
		w = 640
	}
	if h <= 0 {
		if c.Horizontal {
			h = marginTop + marginBottom + rowHeight*float64(max(len(c.Categories), 1))
		} else {
			h = 280
		}
	}
	return w, h
}

// plot is the plot area: left, top, width, height.
func (c Chart) plot() (x0, y0, pw, ph float64) {
	w, h := c.size()
	left, right := float64(marginLeft), float64(marginRight)
	if c.Horizontal {
		// The last tick's label is centred on the right end.
		left, right = labelWidth, 2*marginRight+20
	}
	return left, marginTop, math.Max(w-left-right, 1), math.Max(h-marginTop-marginBottom, 1)
}

func (c Chart) value(s, i int) float64 {
	if i < len(c.Series[s].Values) {
		v := c.Series[s].Values[i]
		if v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
			return v
		}
	}
	return 0
}

// Top is the top of the scale: Max, or a round number at or above the
// largest bar (1 when every bar is empty).
func (c Chart) Top() float64 {
	if c.Max > 0 {
		return c.Max
	}
	largest := 0.0
	for i := range c.Categories {
		total := 0.0
		for s := range c.Series {
			if c.Stacked {
				total += c.value(s, i)
			} else {
				total = math.Max(total, c.value(s, i))
			}
		}
		largest = math.Max(largest, total)
	}
	top := niceCeil(largest)
	if c.Whole && top/4 != math.Floor(top/4) {
		top = 4 * math.Ceil(math.Max(largest, 1)/4)
	}
	return top
}

// niceCeil is the smallest of 1, 2, 2.5, 5 times a power of ten at or
// above x (1 for x <= 0).
func niceCeil(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= x*(1-1e-12) {
			return m * p
		}
	}
	return 10 * p
}

// Layout places every non-empty bar segment: series in order within a
// category, categories left to right (top to bottom when horizontal).
// Stacked segments of a category touch, the first at the axis.
func (c Chart) Layout() []Rect {
	x0, y0, pw, ph := c.plot()
	top := c.Top()
	n := len(c.Categories)
	if n == 0 || len(c.Series) == 0 {
		return nil
	}
	length := ph
	if c.Horizontal {
		length = pw
	}
	band := ph / float64(n)
	if !c.Horizontal {
		band = pw / float64(n)
	}
	thick := band * 0.7
	pad := (band - thick) / 2
	if !c.Stacked {
		thick /= float64(len(c.Series))
	}
	var out []Rect
	for i := range c.Categories {
		base := 0.0 // length already used by the stack
		for s := range c.Series {
			v := c.value(s, i)
			l := math.Min(v/top, 1) * length
			if c.Stacked {
				l = math.Min(l, length-base)
			}
			if v <= 0 || l <= 0 {
				continue
			}
			off := float64(i)*band + pad // across the bar
			if !c.Stacked {
				off += float64(s) * thick
			}
			r := Rect{Series: s, Category: i, Value: v}
			if c.Horizontal {
				r.X, r.Y, r.W, r.H = x0+base, y0+off, l, thick
			} else {
				r.X, r.Y, r.W, r.H = x0+off, y0+ph-base-l, thick, l
			}
			if c.Stacked {
				base += l
			}
			out = append(out, r)
		}
	}
	return out
}

func (c Chart) format(v float64) string {
	if c.Format != nil {
		return c.Format(v)
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// num prints a coordinate.
func num(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }

// esc escapes text for SVG content and attribute values.
func esc(s string) string { return html.EscapeString(s) }

func short(s string) string {
	if utf8.RuneCountInString(s) <= maxLabel {
		return s
	}
	r := []rune(s)
	return string(r[:maxLabel-1]) + "…"
}

// SVG draws the chart. Its text is escaped here, so the result is safe to
// put in a page as it is.
func (c Chart) SVG() template.HTML {
	w, h := c.size()
	x0, y0, pw, ph := c.plot()
	top := c.Top()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-label="%s">`,
		num(w), num(h), num(w), num(h), esc(c.Title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))

	// Legend.
	lx := x0
	for s, ser := range c.Series {
		fmt.Fprintf(&b, `<rect x="%s" y="6" width="12" height="12" fill="%s"></rect>`, num(lx), Palette[s%len(Palette)])
		fmt.Fprintf(&b, `<text x="%s" y="16" font-size="12">%s</text>`, num(lx+16), esc(short(ser.Name)))
		lx += 28 + 7*float64(utf8.RuneCountInString(short(ser.Name)))
	}

	// Grid and ticks: quarters of the scale.
	for k := 0; k <= 4; k++ {
		v := top * float64(k) / 4
		if c.Horizontal {
			x := x0 + pw*float64(k)/4
			fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#d0d7de" stroke-width="1"></line>`, num(x), num(y0), num(x), num(y0+ph))
			fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="11" text-anchor="middle">%s</text>`, num(x), num(y0+ph+16), esc(c.format(v)))
		} else {
			y := y0 + ph - ph*float64(k)/4
			fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#d0d7de" stroke-width="1"></line>`, num(x0), num(y), num(x0+pw), num(y))
			fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="11" text-anchor="end">%s</text>`, num(x0-6), num(y+4), esc(c.format(v)))
		}
	}

	// Category labels.
	n := len(c.Categories)
	for i, cat := range c.Categories {
		if c.Horizontal {
			band := ph / float64(n)
			fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="12" text-anchor="end">%s</text>`, num(x0-6), num(y0+band*float64(i)+band/2+4), esc(short(cat)))
		} else {
			band := pw / float64(n)
			fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="12" text-anchor="middle">%s</text>`, num(x0+band*float64(i)+band/2), num(y0+ph+16), esc(short(cat)))
		}
	}

	for _, r := range c.Layout() {
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`,
			num(r.X), num(r.Y), num(r.W), num(r.H), Palette[r.Series%len(Palette)],
			esc(c.Series[r.Series].Name+", "+c.Categories[r.Category]+": "+c.format(r.Value)))
	}

	// Axis.
	if c.Horizontal {
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#1b1f24" stroke-width="1"></line>`, num(x0), num(y0), num(x0), num(y0+ph))
	} else {
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#1b1f24" stroke-width="1"></line>`, num(x0), num(y0+ph), num(x0+pw), num(y0+ph))
	}
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="12" text-anchor="middle">No data</text>`, num(x0+pw/2), num(y0+ph/2))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: every text above is escaped
}
