package web

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestUIInsightSnippet: only <mark> survives as markup, whether or not the
// index escaped the rest.
func TestUIInsightSnippet(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"escaped_by_the_index", `a &lt;script&gt;alert(1)&lt;/script&gt; <mark>scam</mark>`, `a &lt;script&gt;alert(1)&lt;/script&gt; <mark>scam</mark>`},
		{"raw_markup_is_escaped", `<img src=x onerror=alert(1)> <mark>scam</mark> <script>x</script>`, `&lt;img src=x onerror=alert(1)&gt; <mark>scam</mark> &lt;script&gt;x&lt;/script&gt;`},
		{"markup_inside_a_mark", `<mark><b>scam</b></mark>`, `<mark>&lt;b&gt;scam&lt;/b&gt;</mark>`},
		{"unclosed_mark_is_closed", `<mark>scam`, `<mark>scam</mark>`},
		{"stray_close_is_escaped", `scam</mark> "q"`, `scam&lt;/mark&gt; &#34;q&#34;`},
		{"escaped_mark_stays_text", `&lt;mark&gt;x&lt;/mark&gt;`, `&lt;mark&gt;x&lt;/mark&gt;`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, string(insightSnippet(tc.in)))
		})
	}
}
