// Package blob stores file bodies in MongoDB, content-addressed by SHA-256.
//
// GridFS would work but reads chunks by filtering on files_id, which the
// embedded store answers by scanning every chunk of every file. Here each
// chunk's _id is "<sha256>/<n>", so every read is an _id lookup, and an
// identical file is stored once however often it is attached.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
)

const (
	filesCollection  = "blobs"
	chunksCollection = "blob_chunks"
	// ChunkSize keeps each chunk document far below MongoDB's 16 MB limit.
	ChunkSize = 255 << 10
)

// Info describes a stored body.
type Info struct {
	SHA256   string    `bson:"_id"`
	Size     int64     `bson:"size"`
	Chunks   int       `bson:"chunks"`
	StoredAt time.Time `bson:"stored_at"`
}

type chunk struct {
	ID   string `bson:"_id"`
	Data []byte `bson:"data"`
}

// Store keeps file bodies.
type Store struct {
	db *store.DB
}

// New returns the blob store in db.
func New(db *store.DB) *Store { return &Store{db: db} }

// Init creates the collections.
func (s *Store) Init(ctx context.Context) error {
	if err := s.db.EnsureCollection(ctx, filesCollection); err != nil {
		return err
	}
	return s.db.EnsureCollection(ctx, chunksCollection)
}

// Sum is the hex SHA-256 of data.
func Sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Put stores data (if not already stored) and returns its SHA-256. Chunks
// are written before the file record, so a record always means a complete
// body; a crash part-way leaves orphan chunks that the next Put of the same
// file overwrites.
func (s *Store) Put(ctx context.Context, data []byte, now time.Time) (Info, error) {
	sum := Sum(data)
	var info Info
	err := s.db.FindByID(ctx, filesCollection, sum, &info)
	if err == nil {
		return info, nil
	}
	if !errs.Is(err, errs.NotFound) {
		return Info{}, err
	}
	n := 0
	for off := 0; off < len(data) || n == 0; off += ChunkSize {
		end := min(off+ChunkSize, len(data))
		id := chunkID(sum, n)
		if err := s.db.Insert(ctx, chunksCollection, chunk{ID: id, Data: data[off:end]}); err != nil && !errs.Is(err, errs.Conflict) {
			return Info{}, fmt.Errorf("blob: chunk %d: %w", n, err)
		}
		n++
		if end == len(data) {
			break
		}
	}
	info = Info{SHA256: sum, Size: int64(len(data)), Chunks: n, StoredAt: now.UTC().Truncate(time.Millisecond)}
	if err := s.db.Insert(ctx, filesCollection, info); err != nil && !errs.Is(err, errs.Conflict) {
		return Info{}, err
	}
	return info, nil
}

// Open streams the body with the given SHA-256 to w.
func (s *Store) Open(ctx context.Context, sum string, w io.Writer) (Info, error) {
	var info Info
	if err := s.db.FindByID(ctx, filesCollection, sum, &info); err != nil {
		return Info{}, err
	}
	for n := range info.Chunks {
		var c chunk
		if err := s.db.FindByID(ctx, chunksCollection, chunkID(sum, n), &c); err != nil {
			return Info{}, fmt.Errorf("blob %s: chunk %d: %w", sum, n, err)
		}
		if _, err := w.Write(c.Data); err != nil {
			return Info{}, err
		}
	}
	return info, nil
}

func chunkID(sum string, n int) string { return fmt.Sprintf("%s/%d", sum, n) }
