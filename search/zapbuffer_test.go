package search

import (
	"runtime"
	"slices"
	"strings"
	"testing"

	index "github.com/blevesearch/bleve_index_api"
	zap "github.com/blevesearch/zapx/v17"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A segment of one document is built in a buffer about its own size, not
// one sized for a hundred more (see zapbuffer.go). Allocation is counted
// in bytes, which does not depend on the machine's speed.
func TestAOneDocumentSegmentAllocatesForOneDocument(t *testing.T) {
	d := Doc{Type: TypeCase, ID: "c1", Key: "CF-2026-1", Title: "refund scam ring", Status: "open", Severity: "sev2",
		Body: strings.Repeat("Buyers report a refund scam ring run through counterfeit listings. ", 40)}
	m := NewMapping()
	// Documents as Scorch hands them to zapx: mapped, with their _id
	// field, analysed.
	docs := make([]index.Document, 41)
	for i := range docs {
		doc, err := mapDocument(m, docID(d.Type, d.ID), d)
		require.NoError(t, err)
		doc.AddIDField()
		doc.VisitFields(func(f index.Field) {
			if f.Options().IsIndexed() {
				f.Analyze()
				doc.VisitComposite(func(c index.CompositeField) {
					c.Compose(f.Name(), f.AnalyzedLength(), f.AnalyzedTokenFrequencies())
				})
			}
		})
		docs[i] = doc
	}
	newSegment := func(doc index.Document) int {
		seg, size, err := (&zap.ZapPlugin{}).New([]index.Document{doc})
		require.NoError(t, err)
		require.NoError(t, seg.Close())
		return int(size)
	}
	size := newSegment(docs[0]) // zapx sizes the next buffer from this one

	// Each segment's allocation on its own, and their median: a stray
	// allocation elsewhere in the process lands in one of them, and under
	// the race detector sync.Pool drops some of zapx's reused state (then
	// that segment has no estimate to size from).
	per := make([]int, 0, len(docs)-1)
	for _, doc := range docs[1:] {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		newSegment(doc)
		runtime.ReadMemStats(&after)
		per = append(per, int(after.TotalAlloc-before.TotalAlloc))
	}
	slices.Sort(per)
	median := per[len(per)/2]
	// Building a segment allocates more than its size (its dictionaries,
	// postings, doc values); a buffer for a hundred more documents is a
	// hundred times its size by itself.
	assert.Less(t, median, 40*size, "allocated %d bytes (median) per segment of %d bytes", median, size)
	t.Logf("allocated %d bytes (median) per segment of %d bytes", median, size)
}
