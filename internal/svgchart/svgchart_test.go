package svgchart_test

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/svgchart"
)

func TestTopIsARoundNumberAboveTheLargestBar(t *testing.T) {
	for _, tc := range []struct {
		name    string
		chart   svgchart.Chart
		wantTop float64
	}{
		{"empty_is_one", svgchart.Chart{Categories: []string{"a"}, Series: []svgchart.Series{{Values: []float64{0}}}}, 1},
		{"largest_bar", svgchart.Chart{Categories: []string{"a", "b"}, Series: []svgchart.Series{{Values: []float64{3, 7}}}}, 10},
		{"stacked_sums", svgchart.Chart{Stacked: true, Categories: []string{"a"}, Series: []svgchart.Series{{Values: []float64{3}}, {Values: []float64{1.5}}}}, 5},
		{"side_by_side_takes_the_max", svgchart.Chart{Categories: []string{"a"}, Series: []svgchart.Series{{Values: []float64{3}}, {Values: []float64{1.5}}}}, 5},
		{"fractions", svgchart.Chart{Categories: []string{"a"}, Series: []svgchart.Series{{Values: []float64{0.18}}}}, 0.2},
		{"whole_ticks", svgchart.Chart{Whole: true, Categories: []string{"a"}, Series: []svgchart.Series{{Values: []float64{6}}}}, 8},
		{"whole_small", svgchart.Chart{Whole: true, Categories: []string{"a"}, Series: []svgchart.Series{{Values: []float64{1}}}}, 4},
		{"whole_round", svgchart.Chart{Whole: true, Categories: []string{"a"}, Series: []svgchart.Series{{Values: []float64{70}}}}, 100},
		{"max_wins", svgchart.Chart{Max: 1, Categories: []string{"a"}, Series: []svgchart.Series{{Values: []float64{0.18}}}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.InDelta(t, tc.wantTop, tc.chart.Top(), 1e-12)
		})
	}
}

func TestStackedBarsTouchAndScale(t *testing.T) {
	c := svgchart.Chart{Stacked: true, Width: 600, Height: 300, Categories: []string{"Jan", "Feb"},
		Series: []svgchart.Series{{Name: "product", Values: []float64{1, 0}}, {Name: "process", Values: []float64{3, 2}}, {Name: "policy", Values: []float64{0, 1}}}}
	rects := c.Layout()
	require.Len(t, rects, 4, "empty segments are not drawn")
	// Plot area: left 48, top 28, 536 wide, 232 high; the scale tops at 5.
	const axis, ph = 28 + 232.0, 232.0
	jan1, jan2, feb1, feb2 := rects[0], rects[1], rects[2], rects[3]
	assert.Equal(t, [2]int{0, 0}, [2]int{jan1.Series, jan1.Category})
	assert.Equal(t, [2]int{1, 0}, [2]int{jan2.Series, jan2.Category})
	assert.Equal(t, [2]int{1, 1}, [2]int{feb1.Series, feb1.Category})
	assert.Equal(t, [2]int{2, 1}, [2]int{feb2.Series, feb2.Category})

	assert.InDelta(t, ph/5, jan1.H, 1e-9)
	assert.InDelta(t, 3*ph/5, jan2.H, 1e-9)
	assert.InDelta(t, axis, jan1.Y+jan1.H, 1e-9, "the first segment stands on the axis")
	assert.InDelta(t, jan1.Y, jan2.Y+jan2.H, 1e-9, "the next one sits on it")
	assert.InDelta(t, axis, feb1.Y+feb1.H, 1e-9)
	assert.InDelta(t, feb1.Y, feb2.Y+feb2.H, 1e-9)
	// Bands: 268 wide each, bars 70% of that, centred.
	assert.InDelta(t, 48+268*0.15, jan1.X, 1e-9)
	assert.InDelta(t, 268*0.7, jan1.W, 1e-9)
	assert.Equal(t, jan1.X, jan2.X)
	assert.InDelta(t, 48+268+268*0.15, feb1.X, 1e-9)
}

func TestSideBySideBarsDoNotOverlap(t *testing.T) {
	c := svgchart.Chart{Width: 400, Height: 200, Categories: []string{"a"},
		Series: []svgchart.Series{{Name: "x", Values: []float64{1}}, {Name: "y", Values: []float64{2}}}}
	rects := c.Layout()
	require.Len(t, rects, 2)
	assert.InDelta(t, rects[0].X+rects[0].W, rects[1].X, 1e-9)
	assert.InDelta(t, rects[1].H, 2*rects[0].H, 1e-9)
	assert.InDelta(t, rects[0].Y+rects[0].H, rects[1].Y+rects[1].H, 1e-9, "both on the axis")
}

func TestHorizontalBarsStartAtTheLeftAxis(t *testing.T) {
	c := svgchart.Chart{Horizontal: true, Max: 1, Width: 560, Categories: []string{"acme", "other"},
		Series: []svgchart.Series{{Name: "agreement", Values: []float64{0.5, 1}}}}
	rects := c.Layout()
	require.Len(t, rects, 2)
	// Left 160, 348 wide (52 on the right for the last tick).
	assert.InDelta(t, 160, rects[0].X, 1e-9)
	assert.InDelta(t, 174, rects[0].W, 1e-9)
	assert.InDelta(t, 348, rects[1].W, 1e-9)
	assert.Greater(t, rects[1].Y, rects[0].Y, "categories run down")
	assert.InDelta(t, rects[0].H, rects[1].H, 1e-9)
}

func TestValuesOverTheScaleAreClipped(t *testing.T) {
	c := svgchart.Chart{Max: 1, Width: 400, Height: 200, Categories: []string{"a"}, Series: []svgchart.Series{{Values: []float64{3}}}}
	rects := c.Layout()
	require.Len(t, rects, 1)
	assert.InDelta(t, 200-28-40, rects[0].H, 1e-9)
}

func TestSVGIsAnAccessibleImageWithEscapedText(t *testing.T) {
	payload := `<script>alert(1)</script>`
	c := svgchart.Chart{Title: `Causes & "effects" ` + payload, Stacked: true, Categories: []string{payload, `<img src=x onerror=alert(1)>`},
		Series: []svgchart.Series{{Name: payload, Values: []float64{1, 2}}}}
	out := string(c.SVG())
	assert.NotContains(t, out, "<script")
	assert.NotContains(t, out, "<img")
	assert.Contains(t, out, "&lt;script&gt;")
	assert.Contains(t, out, `role="img"`)
	assert.Contains(t, out, `aria-label="Causes &amp; &#34;effects&#34; &lt;script&gt;alert(1)&lt;/script&gt;"`)
	assert.Contains(t, out, `<title>Causes &amp; &#34;effects&#34;`)
	assert.NotContains(t, out, "style=", "the CSP refuses style attributes")

	// Well-formed XML with one rect per bar plus the legend.
	dec := xml.NewDecoder(strings.NewReader(out))
	rects := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	assert.Equal(t, 3, rects)
}

func TestEmptyChartSaysSo(t *testing.T) {
	out := string(svgchart.Chart{Title: "Nothing"}.SVG())
	assert.Contains(t, out, "No data")
	assert.Empty(t, svgchart.Chart{}.Layout())
}
