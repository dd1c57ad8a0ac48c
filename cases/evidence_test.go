package cases

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/blob"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// download reads the file of evidence n as the lead.
func (h *harness) download(key string, n int) ([]byte, Evidence, error) {
	var (
		buf bytes.Buffer
		got Evidence
	)
	err := h.svc.EvidenceFile(h.ctx, h.lena, key, n, Meta{}, func(e Evidence) io.Writer { got = e; return &buf })
	return buf.Bytes(), got, err
}

func TestAddEvidenceWithFile(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.ivy, nil)
	body := []byte("chat log: send me the gift card codes\n")

	ev, err := h.svc.AddEvidence(h.ctx, h.ivy, c.Key, NewEvidence{Kind: "message", Ref: "msg-1", Description: "DM asking for codes",
		File: &File{Name: "../../chat.txt", Data: body}}, 1<<20, Meta{})
	require.NoError(t, err)
	assert.Equal(t, 1, ev.N)
	assert.Equal(t, sum(body), ev.SHA256, "the server computes the SHA-256 of the bytes")
	require.NotNil(t, ev.Attachment)
	assert.Equal(t, int64(len(body)), ev.Attachment.Size)
	assert.Equal(t, "text/plain; charset=utf-8", ev.Attachment.ContentType)
	assert.Equal(t, "chat.txt", ev.Attachment.FileName, "no directories in file names")
	assert.Equal(t, "ivy", ev.AddedBy)
	assert.Equal(t, t0, ev.AddedAt)

	got := h.get(h.ivy, c.Key)
	require.Len(t, got.Evidence, 1)
	assert.Equal(t, ev.SHA256, got.Evidence[0].SHA256)
	last := got.Timeline[len(got.Timeline)-1]
	assert.Equal(t, EventEvidence, last.Kind)
	assert.Equal(t, "evidence 1 added (message)", last.Text)

	t.Run("file_streams_back_unchanged", func(t *testing.T) {
		h := h.with(t)
		data, entry, err := h.download(c.Key, 1)
		require.NoError(t, err)
		assert.Equal(t, body, data)
		assert.Equal(t, 1, entry.N, "prepare sees the entry first")
		ev := h.events("case.evidence_download")
		require.Len(t, ev, 1)
		assert.Equal(t, c.Key, ev[0].Entity.ID)
	})

	t.Run("same_file_twice_is_stored_once", func(t *testing.T) {
		h := h.with(t)
		c2 := h.create(h.ivy, nil)
		for _, key := range []string{c.Key, c2.Key} {
			again, err := h.svc.AddEvidence(h.ctx, h.ivy, key, NewEvidence{Kind: "message", Description: "same log", File: &File{Name: "copy.txt", Data: body}}, 1<<20, Meta{})
			require.NoError(t, err)
			assert.Equal(t, sum(body), again.SHA256)
		}
		assert.Equal(t, int64(1), h.count("blobs"))
		assert.Equal(t, int64(1), h.count("blob_chunks"))
		data, _, err := h.download(c.Key, 2)
		require.NoError(t, err)
		assert.Equal(t, body, data)
	})

	t.Run("multi_chunk_file_round_trips", func(t *testing.T) {
		h := h.with(t)
		big := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 1, 2, 3}, blob.ChunkSize/7*2) // about 2 chunks
		big = append([]byte("\x89PNG\r\n\x1a\n"), big...)
		ev, err := h.svc.AddEvidence(h.ctx, h.ivy, c.Key, NewEvidence{Kind: "profile", Description: "avatar", File: &File{Name: "a.png", Data: big}}, 1<<20, Meta{})
		require.NoError(t, err)
		assert.Equal(t, "image/png", ev.Attachment.ContentType)
		data, _, err := h.download(c.Key, ev.N)
		require.NoError(t, err)
		assert.Equal(t, sum(big), sum(data))
		assert.Len(t, data, len(big))
	})

	t.Run("entry_without_file_has_nothing_to_download", func(t *testing.T) {
		h := h.with(t)
		ev, err := h.svc.AddEvidence(h.ctx, h.ivy, c.Key, NewEvidence{Kind: "video", Ref: "vid-9", Description: "no file"}, 1<<20, Meta{})
		require.NoError(t, err)
		assert.Empty(t, ev.SHA256)
		assert.Nil(t, ev.Attachment)
		for _, n := range []int{ev.N, 0, -1, ev.N + 1} {
			_, _, err := h.download(c.Key, n)
			errstest.Require(t, err, errs.NotFound)
		}
	})
}

func TestAddEvidenceLimits(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.ivy, nil)
	const maxFile = 1000

	t.Run("file_over_the_limit_is_too_large_and_stores_nothing", func(t *testing.T) {
		h := h.with(t)
		_, err := h.svc.AddEvidence(h.ctx, h.ivy, c.Key, NewEvidence{Kind: "other", Description: "big",
			File: &File{Name: "big.bin", Data: make([]byte, maxFile+1)}}, maxFile, Meta{})
		errstest.Require(t, err, errs.PayloadTooLarge)
		assert.Zero(t, h.count("blobs"))
		assert.Zero(t, h.count("blob_chunks"))
		got := h.raw(c.ID)
		assert.Equal(t, c.Version, got.Version)
		assert.Empty(t, got.Evidence)
	})
	t.Run("file_at_the_limit_is_accepted", func(t *testing.T) {
		h := h.with(t)
		_, err := h.svc.AddEvidence(h.ctx, h.ivy, c.Key, NewEvidence{Kind: "other", Description: "exact",
			File: &File{Name: "exact.bin", Data: bytes.Repeat([]byte{7}, maxFile)}}, maxFile, Meta{})
		require.NoError(t, err)
		assert.Equal(t, int64(1), h.count("blobs"))
	})

	tests := []struct {
		name  string
		in    NewEvidence
		field string
	}{
		{"unknown_kind", NewEvidence{Kind: "rumour", Description: "d"}, "kind"},
		{"missing_description", NewEvidence{Kind: "other"}, "description"},
		{"negative_retracts", NewEvidence{Kind: "other", Description: "d", Retracts: -1}, "retracts"},
		{"empty_file", NewEvidence{Kind: "other", Description: "d", File: &File{Name: "e.txt"}}, "file"},
		{"file_name_with_newline", NewEvidence{Kind: "other", Description: "d", File: &File{Name: "a\nb.txt", Data: []byte("x")}}, "file"},
		{"overlong_ref", NewEvidence{Kind: "other", Description: "d", Ref: strings.Repeat("r", 2001)}, "ref"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			before := h.count("blobs")
			_, err := h.svc.AddEvidence(h.ctx, h.ivy, c.Key, tt.in, maxFile, Meta{})
			assert.Contains(t, errstest.Fields(t, err), tt.field)
			assert.Equal(t, before, h.count("blobs"))
		})
	}

	t.Run("hidden_case_stores_no_file", func(t *testing.T) {
		h := h.with(t)
		before := h.count("blobs")
		_, err := h.svc.AddEvidence(h.ctx, h.otto, c.Key, NewEvidence{Kind: "other", Description: "d",
			File: &File{Name: "x.txt", Data: []byte("probe")}}, maxFile, Meta{})
		errstest.Require(t, err, errs.NotFound)
		assert.Equal(t, before, h.count("blobs"), "access is checked before anything is stored")
	})

	t.Run("a_full_case_takes_no_more_evidence", func(t *testing.T) {
		h := h.with(t)
		full := h.create(h.ivy, nil)
		raw := h.raw(full.ID)
		raw.Evidence = make([]Evidence, MaxEvidence)
		for i := range raw.Evidence {
			raw.Evidence[i] = Evidence{N: i + 1, Kind: "other", Description: "e", AddedBy: "ivy", AddedAt: t0}
		}
		raw.Version++
		require.NoError(t, h.store.ReplaceCase(h.ctx, &raw, raw.Version-1))
		_, err := h.svc.AddEvidence(h.ctx, h.ivy, full.Key, NewEvidence{Kind: "other", Description: "one more"}, maxFile, Meta{})
		errstest.Require(t, err, errs.Conflict)
	})
}

func TestEvidenceRetraction(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.ivy, nil)
	for _, d := range []string{"first", "second"} {
		_, err := h.svc.AddEvidence(h.ctx, h.ivy, c.Key, NewEvidence{Kind: "comment", Description: d}, 1<<20, Meta{})
		require.NoError(t, err)
	}

	r, err := h.svc.AddEvidence(h.ctx, h.ivy, c.Key, NewEvidence{Kind: "comment", Description: "wrong account", Retracts: 1}, 1<<20, Meta{})
	require.NoError(t, err)
	assert.Equal(t, 3, r.N)
	assert.Equal(t, 1, r.Retracts)

	got := h.get(h.ivy, c.Key)
	require.Len(t, got.Evidence, 3, "a retraction appends; nothing is edited")
	assert.True(t, got.Evidence[0].Retracted)
	assert.Equal(t, "first", got.Evidence[0].Description)
	assert.False(t, got.Evidence[1].Retracted)
	assert.False(t, got.Evidence[2].Retracted)
	assert.Equal(t, "evidence 3 retracts evidence 1", got.Timeline[len(got.Timeline)-1].Text)

	t.Run("retracting_a_missing_entry_is_invalid", func(t *testing.T) {
		h := h.with(t)
		_, err := h.svc.AddEvidence(h.ctx, h.ivy, c.Key, NewEvidence{Kind: "comment", Description: "d", Retracts: 9}, 1<<20, Meta{})
		assert.Equal(t, []string{"retracts"}, errstest.Fields(t, err))
	})
	t.Run("retracting_twice_is_a_conflict", func(t *testing.T) {
		h := h.with(t)
		_, err := h.svc.AddEvidence(h.ctx, h.lena, c.Key, NewEvidence{Kind: "comment", Description: "d", Retracts: 1}, 1<<20, Meta{})
		errstest.Require(t, err, errs.Conflict)
		assert.Len(t, h.raw(c.ID).Evidence, 3)
	})
}
