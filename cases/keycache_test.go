package cases

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/storetest"
)

// TestCaseKeysAreLookedUpOnce: a store remembers which case a key names
// (keys are written once and never change), so only the first lookup of a
// key reaches the database, and none for a key the store wrote itself; a
// key not found is looked up again, since another instance on the same
// database may create it.
func TestCaseKeysAreLookedUpOnce(t *testing.T) {
	var sent storetest.Commands
	db := storetest.NewWith(t, sent.Option())
	ctx := context.Background()
	writer, other := NewMongoStore(db), NewMongoStore(db)
	require.NoError(t, writer.Init(ctx))
	const key, id = "CASE-2026-7", "0123456789abcdefghij"

	lookup := func(s *MongoStore, wantErr errs.Code) func() {
		return func() {
			got, err := s.CaseIDByKey(ctx, key)
			if wantErr != "" {
				assert.True(t, errs.Is(err, wantErr), "got %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, id, got)
		}
	}
	assert.Equal(t, []string{"find case_keys"}, sent.During(lookup(other, errs.NotFound)), "an unknown key")

	require.NoError(t, writer.InsertCase(ctx, &Case{ID: id, Key: key}))
	assert.Empty(t, sent.During(lookup(writer, "")), "the key the store wrote")
	assert.Equal(t, []string{"find case_keys"}, sent.During(lookup(other, "")), "another instance's key, first time, though it was not found before")
	assert.Empty(t, sent.During(lookup(other, "")), "and after")
}
