package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/internal/blob"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 123456789, time.UTC)

func newStore(t *testing.T) (*blob.Store, *store.DB) {
	t.Helper()
	db := storetest.New(t)
	s := blob.New(db)
	require.NoError(t, s.Init(context.Background()))
	return s, db
}

func count(t *testing.T, db *store.DB, coll string) int64 {
	t.Helper()
	n, err := db.Collection(coll).CountDocuments(context.Background(), bson.D{})
	require.NoError(t, err)
	return n
}

// body is n bytes that differ from chunk to chunk, so a misplaced chunk shows.
func body(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/blob.ChunkSize)
	}
	return b
}

func TestPutOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, db := newStore(t)
	tests := []struct {
		name   string
		data   []byte
		chunks int
	}{
		{"empty", []byte{}, 1},
		{"one_byte", []byte{42}, 1},
		{"exactly_one_chunk", body(blob.ChunkSize), 1},
		{"one_chunk_and_a_byte", body(blob.ChunkSize + 1), 2},
		{"three_chunks_and_seven_bytes", body(3*blob.ChunkSize + 7), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := s.Put(ctx, tt.data, t0)
			require.NoError(t, err)
			want := sha256.Sum256(tt.data)
			assert.Equal(t, hex.EncodeToString(want[:]), info.SHA256)
			assert.Equal(t, blob.Sum(tt.data), info.SHA256)
			assert.Equal(t, int64(len(tt.data)), info.Size)
			assert.Equal(t, tt.chunks, info.Chunks)
			assert.Equal(t, t0.Truncate(time.Millisecond), info.StoredAt)

			var buf bytes.Buffer
			got, err := s.Open(ctx, info.SHA256, &buf)
			require.NoError(t, err)
			assert.Equal(t, info, got)
			assert.Equal(t, len(tt.data), buf.Len())
			assert.True(t, bytes.Equal(tt.data, buf.Bytes()), "body differs")
		})
	}
	assert.Equal(t, int64(len(tests)), count(t, db, "blobs"))
	assert.Equal(t, int64(1+1+1+2+4), count(t, db, "blob_chunks"))
}

func TestPutDedups(t *testing.T) {
	ctx := context.Background()
	s, db := newStore(t)
	data := body(blob.ChunkSize + 10)
	first, err := s.Put(ctx, data, t0)
	require.NoError(t, err)
	second, err := s.Put(ctx, bytes.Clone(data), t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, first, second, "the second Put returns the stored record")
	assert.Equal(t, int64(1), count(t, db, "blobs"))
	assert.Equal(t, int64(2), count(t, db, "blob_chunks"))

	other := bytes.Clone(data)
	other[len(other)-1] ^= 1
	third, err := s.Put(ctx, other, t0)
	require.NoError(t, err)
	assert.NotEqual(t, first.SHA256, third.SHA256)
	assert.Equal(t, int64(2), count(t, db, "blobs"))
}

func TestPutCompletesAfterOrphanChunks(t *testing.T) {
	// A Put interrupted after its chunks leaves no file record; the next
	// Put of the same body completes it.
	ctx := context.Background()
	s, db := newStore(t)
	data := body(2*blob.ChunkSize + 3)
	sum := blob.Sum(data)
	require.NoError(t, db.Insert(ctx, "blob_chunks", bson.D{{Key: "_id", Value: fmt.Sprintf("%s/0", sum)}, {Key: "data", Value: data[:blob.ChunkSize]}}))
	_, err := s.Open(ctx, sum, &bytes.Buffer{})
	requireNotFound(t, err)

	info, err := s.Put(ctx, data, t0)
	require.NoError(t, err)
	assert.Equal(t, 3, info.Chunks)
	var buf bytes.Buffer
	_, err = s.Open(ctx, sum, &buf)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, buf.Bytes()))
}

func TestOpenUnknownIsNotFound(t *testing.T) {
	s, _ := newStore(t)
	var buf bytes.Buffer
	_, err := s.Open(context.Background(), blob.Sum([]byte("never stored")), &buf)
	requireNotFound(t, err)
	assert.Zero(t, buf.Len())
}

func requireNotFound(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, errs.NotFound, errs.CodeOf(err), "error: %v", err)
}
