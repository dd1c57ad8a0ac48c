package rca

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRenderStable complements FuzzRender (markdown_test.go), which checks
// the output for script: rendering is deterministic, one renderer or
// another, call after call, and no embedding element (iframe, object,
// embed) or script tag survives, in any letter case.
//
// CI: go test ./rca -run '^$' -fuzz '^FuzzRenderStable$' -fuzztime 10s
func FuzzRenderStable(f *testing.F) {
	for _, s := range []string{
		"", "# Title\n\n**bold** _it_ `code`\n\n- a\n- b\n\n| a | b |\n|---|---|\n| 1 | 2 |",
		"<object data=\"https://evil.example/x.swf\"></object>", "<OBJECT><param name=x value=y></OBJECT>",
		"<embed src=\"https://evil.example/x\">", "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
		"[a](https://example.com \"title\") <https://example.com> www.example.com ~~gone~~ - [x] done",
		"[x][1]\n\n[1]: https://example.com/?a=1&b=<2>", "<a href=\"https://example.com\" target=_blank>x</a>",
		"![img](https://example.com/a.png \"t\")", "<details open ontoggle=alert(1)><summary>x</summary></details>",
		"<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>", "<!-- <script>x</script> -->", "\x00<\x00script>",
		"&lt;script&gt;", "<scr<script>ipt>alert(1)</script>", "<form action=\"javascript:alert(1)\"><button>x</button></form>",
	} {
		f.Add(s)
	}
	md, other := NewMarkdown(), NewMarkdown()
	f.Fuzz(func(t *testing.T, src string) {
		out := md.Render(src)
		if again := md.Render(src); again != out {
			t.Fatalf("Render(%q) not deterministic:\n%q\n%q", src, out, again)
		}
		if theirs := other.Render(src); theirs != out {
			t.Fatalf("Render(%q) differs between renderers:\n%q\n%q", src, out, theirs)
		}
		lower := strings.ToLower(out)
		for _, tag := range []string{"<script", "<iframe", "<object", "<embed"} {
			if strings.Contains(lower, tag) {
				t.Fatalf("Render(%q) = %q: contains %s", src, out, tag)
			}
		}
		if what := unsafeMarkup(out); what != "" {
			t.Fatalf("Render(%q) = %q: %s", src, out, what)
		}
	})
}

// FuzzTokensNormalized complements FuzzTokens (classifier_test.go), which
// checks that tokens are non-empty and deterministic: every token is
// already lower case and valid UTF-8, as the classifier's features and the
// search index's terms must be for the two to agree.
//
// CI: go test ./rca -run '^$' -fuzz '^FuzzTokensNormalized$' -fuzztime 10s
func FuzzTokensNormalized(f *testing.F) {
	for _, s := range []string{
		"Reviewers Escalated the Policies", "ΣΑΣ ΟΔΥΣΣΕΥΣ", "ǅemal ǈubljana ǋovi", "Ⱥ Ⱦ ȺȾ", "İSTANBUL straße",
		"\xff\xfe\x00 invalid utf-8 \xc3", "Caf\xc3 \xe2\x82", "ＦＵＬＬＷＩＤＴＨ", "𐐀𐐁 DESERET", "K\u212a kelvin",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, tok := range Tokens(text) {
			switch {
			case tok == "":
				t.Fatalf("Tokens(%q): an empty token", text)
			case !utf8.ValidString(tok):
				t.Fatalf("Tokens(%q): %q is not valid UTF-8", text, tok)
			case strings.ToLower(tok) != tok:
				t.Fatalf("Tokens(%q): %q is not lower case", text, tok)
			}
		}
	})
}
