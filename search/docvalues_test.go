package search

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMapDocumentLaysDocValuesOutForDirectReads(t *testing.T) {
	d := Doc{Type: TypeCase, ID: "c1", Key: "CF-2026-1", Title: "spam ring", Body: "many accounts", Status: "open",
		Severity: "sev2", Gravity: 3, PolicyAreas: []string{"spam", "fraud"}, Restricted: true,
		CreatedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	doc, err := mapDocument(NewMapping(), docID(d.Type, d.ID), d)
	require.NoError(t, err)

	seen := map[string]bool{}
	for _, f := range doc.Fields {
		opts := f.Options()
		seen[f.Name()] = true
		if opts.IncludeDocValues() {
			assert.True(t, opts.SkipDVChunking() && opts.SkipDVCompression(), "%s: doc values not laid out for direct reads", f.Name())
		} else {
			assert.False(t, opts.SkipDVChunking() || opts.SkipDVCompression(), "%s has no doc values to lay out", f.Name())
		}
	}
	// One of each kind of field with doc values, and a text field without.
	for _, name := range []string{"status", "policy_area", "created_at", "gravity", "restricted", "title"} {
		assert.True(t, seen[name], name)
	}
}

func TestBuilderMappingSerialisesAsTheMapping(t *testing.T) {
	// An index a rebuild wrote is opened later with the mapping read back
	// from its metadata, so the wrapper must not change what is written.
	want, err := json.Marshal(NewMapping())
	require.NoError(t, err)
	got, err := json.Marshal(newBuilderMapping())
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
}
