package search

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerifySegments(t *testing.T) {
	shard := filepath.Join(t.TempDir(), "shard-0")
	idx, err := bleve.New(shard, NewMapping())
	require.NoError(t, err)
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var changes []Change
	for i := range 20 {
		id := string(rune('a'+i)) + "1"
		changes = append(changes, Change{Type: TypeCase, ID: id, Seq: int64(i + 1),
			Doc: Doc{Title: "refund fraud " + id, Status: "new", CreatedAt: now, UpdatedAt: now}})
	}
	require.NoError(t, apply(idx, changes, 20))
	require.NoError(t, idx.Close())
	store := filepath.Join(shard, "store")

	require.NoError(t, verifySegments(shard), "an intact index verifies")

	// A file the newest snapshot does not use (half written when the
	// process died) is not read: Bleve never opens it.
	require.NoError(t, os.WriteFile(filepath.Join(store, "ffffffffffff.zap"), []byte("half a segment"), 0o600))
	assert.NoError(t, verifySegments(shard))

	// One changed byte in a segment the snapshot uses is caught.
	used, err := newestSegments(filepath.Join(store, "root.bolt"))
	require.NoError(t, err)
	require.NotEmpty(t, used)
	p := filepath.Join(store, used[0])
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)/2] ^= 0x40
	require.NoError(t, os.WriteFile(p, b, 0o600))
	assert.ErrorContains(t, verifySegments(shard), "does not match its checksum")
	_, err = openBleve(shard)
	assert.Error(t, err, "the damaged shard is not opened")
}
