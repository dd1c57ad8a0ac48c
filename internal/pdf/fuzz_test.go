package pdf_test

import (
	"bytes"
	"testing"

	"casefile.dev/casefile/internal/pdf"
	"casefile.dev/casefile/internal/pdf/pdftest"
)

// FuzzRender: any text renders to a PDF that reads back, without a panic
// or an error. Inputs are kept short so that one run stays quick.
func FuzzRender(f *testing.F) {
	f.Add("# Title\n\nText with **bold**, *italic*, `code`.\n\n- a\n  - b\n\n1. one")
	f.Add("| a | b |\n|---|---|\n| 1 | 2 |")
	f.Add("```\n\tcode\n```\n\n> quote\n\n---\n\n<div>x</div>")
	f.Add("שלום 中文 😀 \x00\x01\t\r\n\\* &amp; &#0; &#x110000;")
	f.Fuzz(func(t *testing.T, md string) {
		if len(md) > 2048 {
			t.Skip()
		}
		b, err := pdf.Render(md, pdf.Options{Footer: md, Title: md, Uncompressed: true})
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		if !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Fatal("no PDF header")
		}
		if _, err := pdftest.Parse(b); err != nil {
			t.Fatalf("read back: %v", err)
		}
	})
}
