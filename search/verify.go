package search

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/blevesearch/bleve/v2/util"
	bolt "go.etcd.io/bbolt"
)

// verifySegments checks every segment file of the shard at path that its
// newest snapshot uses against the CRC-32 in the file's footer, before
// Bleve opens them.
//
// Why: Bleve trusts the counts it reads from a segment. A damaged one can
// make it ask for an absurd allocation while opening (measured: a test that
// wrote garbage into the middle of a segment made zapx allocate 152 GB for
// doc-value chunk offsets), and the Go runtime ends the process on that
// rather than panicking, so openBleve's recover cannot catch it. A
// checksum mismatch is reported instead, and the index is moved aside and
// rebuilt like any other unreadable one.
//
// Only segments of the newest snapshot are read: the store directory can
// also hold a file half written when the process died, which Bleve never
// opens and deletes later. Reading the segments costs a pass over the
// index files at start-up (they are read again to be served, so the page
// cache keeps them).
func verifySegments(path string) error {
	store := filepath.Join(path, "store")
	files, err := newestSegments(filepath.Join(store, "root.bolt"))
	if errors.Is(err, os.ErrNotExist) {
		return nil // not a Scorch index: Bleve says what it is
	}
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := verifyZap(filepath.Join(store, f)); err != nil {
			return err
		}
	}
	return nil
}

// newestSegments lists the segment files of the newest snapshot in a
// Scorch root (its bucket layout: bleve/v2/index/scorch/persister.go).
func newestSegments(root string) ([]string, error) {
	db, err := bolt.Open(root, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var files []string
	err = db.View(func(tx *bolt.Tx) error {
		snapshots := tx.Bucket(util.BoltSnapshotsBucket)
		if snapshots == nil {
			return nil // an index that never persisted a batch
		}
		k, _ := snapshots.Cursor().Last()
		if k == nil {
			return nil
		}
		snapshot := snapshots.Bucket(k)
		if snapshot == nil {
			return fmt.Errorf("snapshot %x has no bucket", k)
		}
		return snapshot.ForEachBucket(func(name []byte) error {
			if name[0] == util.BoltInternalKey[0] || name[0] == util.BoltMetaDataKey[0] {
				return nil
			}
			p := snapshot.Bucket(name).Get(util.BoltPathKey)
			if len(p) == 0 || filepath.Base(string(p)) != string(p) {
				return fmt.Errorf("segment %x has no usable path (%q)", name, p)
			}
			files = append(files, string(p))
			return nil
		})
	})
	return files, err
}

// verifyZap compares a zap segment's footer CRC-32 (IEEE, over everything
// before it) with its contents.
func verifyZap(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.Size() < 4 {
		return fmt.Errorf("segment %s: %d bytes is too short", filepath.Base(path), info.Size())
	}
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, info.Size()-4)); err != nil {
		return err
	}
	var stored [4]byte
	if _, err := f.ReadAt(stored[:], info.Size()-4); err != nil {
		return err
	}
	if binary.BigEndian.Uint32(stored[:]) != h.Sum32() {
		return fmt.Errorf("segment %s does not match its checksum", filepath.Base(path))
	}
	return nil
}
