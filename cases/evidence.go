package cases

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// DefaultMaxAttachment is the default size limit of one evidence file.
const DefaultMaxAttachment = 25 << 20

// File is an uploaded evidence file.
type File struct {
	Name string
	Data []byte
}

// NewEvidence is the input of AddEvidence.
type NewEvidence struct {
	Kind          string
	Ref           string
	Description   string
	FlaggedReason string
	CapturedAt    *time.Time
	Retracts      int
	File          *File
}

// AddEvidence appends an evidence entry, storing any file by its SHA-256
// (computed here, never taken from the client). Entries are never edited:
// a retraction is a new entry naming the one it withdraws.
func (s *Service) AddEvidence(ctx context.Context, u *auth.User, idOrKey string, in NewEvidence, maxFile int64, m Meta) (Evidence, error) {
	var f errs.Fields
	if !slices.Contains(evidenceKinds, in.Kind) {
		f.Add("kind", "must be one of %s", strings.Join(evidenceKinds, ", "))
	}
	f.Text("ref", in.Ref, 2000, false)
	f.Text("description", in.Description, 4000, true)
	f.Text("flagged_reason", in.FlaggedReason, 1000, false)
	if in.Retracts < 0 {
		f.Add("retracts", "must be an evidence number")
	}
	if in.File != nil {
		if int64(len(in.File.Data)) > maxFile {
			return Evidence{}, errs.E(errs.PayloadTooLarge, "the file is larger than the %d-byte limit", maxFile)
		}
		if len(in.File.Data) == 0 {
			f.Add("file", "is empty")
		}
		if n := in.File.Name; !utf8.ValidString(n) || len(n) > 255 || strings.ContainsAny(n, "\x00\r\n") {
			f.Add("file", "has an invalid file name")
		}
	}
	if err := f.Err(); err != nil {
		return Evidence{}, err
	}
	// Check access before storing anything.
	if _, err := s.loadForEdit(ctx, u, idOrKey, m, "case.evidence"); err != nil {
		return Evidence{}, err
	}
	now := s.clock()
	ev := Evidence{Kind: in.Kind, Ref: in.Ref, Description: in.Description, FlaggedReason: in.FlaggedReason,
		CapturedAt: in.CapturedAt, Retracts: in.Retracts, AddedBy: u.Username, AddedAt: now}
	if in.File != nil {
		info, err := s.blobs.Put(ctx, in.File.Data, now)
		if err != nil {
			return Evidence{}, err
		}
		ev.SHA256 = info.SHA256
		ev.Attachment = &Attachment{Size: info.Size, ContentType: http.DetectContentType(in.File.Data), FileName: filepath.Base(in.File.Name)}
	}
	c, err := s.change(ctx, u, idOrKey, 0, m, "case.evidence", func(c *Case) ([]TimelineEntry, error) {
		if len(c.Evidence) >= MaxEvidence {
			return nil, errs.E(errs.Conflict, "a case holds at most %d evidence entries; open a linked case", MaxEvidence)
		}
		if ev.Retracts > 0 {
			if ev.Retracts > len(c.Evidence) {
				return nil, &errs.Error{Code: errs.Invalid, Message: "no such evidence", Fields: []errs.FieldError{{Field: "retracts", Message: "names no evidence entry of this case"}}}
			}
			for _, e := range c.Evidence {
				if e.Retracts == ev.Retracts {
					return nil, errs.E(errs.Conflict, "evidence %d is already retracted", ev.Retracts)
				}
			}
		}
		ev.N = len(c.Evidence) + 1
		c.Evidence = append(c.Evidence, ev)
		text := fmt.Sprintf("evidence %d added (%s)", ev.N, ev.Kind)
		if ev.Retracts > 0 {
			text = fmt.Sprintf("evidence %d retracts evidence %d", ev.N, ev.Retracts)
		}
		return []TimelineEntry{{Kind: EventEvidence, Text: text, Detail: map[string]string{"n": fmt.Sprint(ev.N)}}}, nil
	})
	if err != nil {
		return Evidence{}, err
	}
	return ev, s.record(ctx, u, m, "case.evidence", &c, auth.OutcomeSuccess, map[string]string{"n": fmt.Sprint(ev.N), "sha256": ev.SHA256})
}

// EvidenceFile writes the file of evidence n to w once access is checked;
// prepare is called with the entry first, so headers can be set.
func (s *Service) EvidenceFile(ctx context.Context, u *auth.User, idOrKey string, n int, m Meta, prepare func(Evidence) io.Writer) error {
	c, err := s.load(ctx, u, idOrKey)
	if err != nil {
		return err
	}
	if n < 1 || n > len(c.Evidence) || c.Evidence[n-1].SHA256 == "" {
		return errs.E(errs.NotFound, "evidence %d has no file", n)
	}
	ev := c.Evidence[n-1]
	if err := s.record(ctx, u, m, "case.evidence_download", &c, auth.OutcomeSuccess, map[string]string{"n": fmt.Sprint(n)}); err != nil {
		return err
	}
	_, err = s.blobs.Open(ctx, ev.SHA256, prepare(ev))
	return err
}
