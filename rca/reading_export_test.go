package rca

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func TestExportReadingIsTheRedactedReading(t *testing.T) {
	f := newPIIFixture(t)
	in := f.approved(validContent("The queue stalled."))
	f.putRCA(in.Key, rootCause(Product, "bug", "u-88231 found a *bug* in [the queue](http://x)"))
	f.addItem(in.Key, NewActionItem{Title: "Ban @scamking # for good"})

	_, err := f.svc.ExportReading(f.ctx, f.leo, in.Key, FormatMarkdown, auth.Meta{})
	errstest.Require(t, err, errs.NotFound) // approved, not published

	f.step(f.luke, in.Key, Publish)
	e, err := f.svc.ExportReading(f.ctx, f.leo, in.Key, FormatPDF, auth.Meta{RequestID: "r1"})
	require.NoError(t, err)
	assert.Equal(t, in.Key, e.Key)
	md := e.Markdown
	for _, want := range []string{
		"# Postmortem " + in.Key + ": ",
		"## Summary\n\nThe queue stalled.\n",
		"## Root causes\n\n### Product\n\n- \\[redacted\\] found a \\*bug\\* in \\[the queue\\]\\(http\\://x\\) (bug)\n\n## What went well",
		"- **Ban \\[redacted\\] \\# for good**: prevent, owner lena; open",
		"## Details\n\nWe **will** add an owner to every job.\n",
		": Queue age started to grow\n",
	} {
		assert.Contains(t, md, want)
	}
	for _, leak := range []string{"u-88231", "scamking"} {
		assert.NotContains(t, strings.ToLower(md), leak)
	}
	plain, err := f.svc.ExportMarkdown(f.ctx, f.leo, in.Key)
	require.NoError(t, err)
	assert.Equal(t, md, plain, "the unaudited export is the same document")

	events := f.events("postmortem.export")
	require.Len(t, events, 1)
	assert.Equal(t, map[string]string{"format": FormatPDF, "revision": "1"}, events[0].Detail)
	assert.Equal(t, auth.Entity{Type: "postmortem", ID: in.Key}, events[0].Entity)

	_, err = f.svc.ExportReading(f.ctx, f.vic, in.Key, FormatMarkdown, auth.Meta{})
	errstest.Require(t, err, errs.NotFound)
	_, err = f.svc.ExportReading(f.ctx, f.leo, in.Key, "html", auth.Meta{})
	errstest.Require(t, err, errs.Invalid)
	assert.Len(t, f.events("postmortem.export"), 1, "refusals export nothing")
}
