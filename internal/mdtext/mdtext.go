// Package mdtext writes a user's plain text into Markdown documents (the
// case and postmortem exports) so that it reads as the text it is: it
// cannot open a heading, a list, a link, an image, emphasis, a table, a
// code block or HTML, whatever it holds.
package mdtext

import (
	"strings"
	"unicode"
)

// special is the ASCII punctuation that can mean something to Markdown,
// GFM (tables, strikethrough, autolinks after "www.", "http:" or in
// "a@b.c") or HTML. CommonMark lets any ASCII punctuation be
// backslash-escaped, so escaping it never changes the text shown.
const special = "\\`*_{}[]()<>#+-.!|~&=:@^"

// Inline escapes one line of text: line ends become spaces, control
// characters go, and every special character is backslash-escaped but a
// hyphen between two letters or digits, which cannot start anything there
// and keeps ids readable ("actor-17").
func Inline(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, c := range rs {
		switch {
		case c == '\n' || c == '\r' || c == '\t' || c == '\u2028' || c == '\u2029':
			b.WriteByte(' ')
		case unicode.IsControl(c):
		case c == '-' && i > 0 && i+1 < len(rs) && alnum(rs[i-1]) && alnum(rs[i+1]):
			b.WriteRune(c)
		case c < 0x80 && strings.ContainsRune(special, c):
			b.WriteByte('\\')
			b.WriteRune(c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func alnum(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }

// Block escapes text of several lines: each line as Inline does, without
// its leading and trailing white space (four leading spaces would make a
// code block); the lines of a paragraph are joined with hard line breaks,
// paragraphs with a blank line, and every line after the first starts
// with indent, so that a block inside a list item stays in it.
func Block(s, indent string) string {
	var paras [][]string
	var cur []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			if len(cur) > 0 {
				paras = append(paras, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, Inline(l))
	}
	if len(cur) > 0 {
		paras = append(paras, cur)
	}
	out := make([]string, len(paras))
	for i, p := range paras {
		out[i] = strings.Join(p, "\\\n"+indent)
	}
	return strings.Join(out, "\n\n"+indent)
}

// Code is s as a one-backtick code span (for ids and hashes): backticks
// and control characters, which would end the span or the line, are left
// out.
func Code(s string) string {
	return "`" + strings.Map(func(c rune) rune {
		if c == '`' || unicode.IsControl(c) {
			return -1
		}
		return c
	}, s) + "`"
}
