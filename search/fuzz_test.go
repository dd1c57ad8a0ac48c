package search

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// FuzzParseQuery checks the query language on any input: it never panics,
// a query is either refused as invalid (naming the field q) or parsed
// within the limits, and a parsed query runs on a real index without an
// error Bleve raises (which the web layer would turn into a 500).
//
// CI: go test ./search -run '^$' -fuzz '^FuzzParseQuery$' -fuzztime 10s
func FuzzParseQuery(f *testing.F) {
	for _, q := range refusals() {
		f.Add(q)
	}
	for _, q := range []string{
		"", " ", "-", "refund", `"ban evasion"`, "title:refund", `title:"ban evasion"`, "-spam", "-team:t1", `-"a b"`,
		"severity:sev1..sev3", "severity:..sev2", "severity:sev3..", "severity:..", "created:2026-01-01",
		"created:2026-01-01..2026-02-01", "created:..2026-02-01", "created:2026-01-01T10:00:00Z..", "updated:2026-13-01",
		"status:triage severity:sev1", "cf-2026-1", "INC-2026-4", "key:cf-2026-12", "wild*card", "refund*", "e-mail 12:30",
		"über straße", "area:spam rc:policy", "tags:x", "-title:", "- -", `title:""`, "a:b:c", "/", "title:/",
		strings.Repeat("ab ", MaxClauses), strings.Repeat("a", MaxQueryLen), "\u00a0refund\u2028x", "\x00", "a\x00b:c",
	} {
		f.Add(q)
	}

	x, fresh, err := Open(f.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || !fresh {
		f.Fatalf("open index: fresh=%v err=%v", fresh, err)
	}
	f.Cleanup(func() { _ = x.Close() })
	docs := queryDocs()
	changes := make([]Change, len(docs))
	for i, d := range docs {
		changes[i] = Change{Type: d.Type, ID: d.ID, Seq: int64(i + 1), Doc: d}
	}
	if err := x.Apply(changes, int64(len(docs))); err != nil {
		f.Fatal(err)
	}
	s := NewSearcher(x)
	admin := &auth.User{Username: "ada", Role: auth.RoleAdmin}

	f.Fuzz(func(t *testing.T, q string) {
		clauses, terr := tokenize(q)
		bq, perr := parseQuery(q)
		if terr != nil {
			requireInvalidQ(t, q, terr)
			if perr == nil {
				t.Fatalf("%q: tokenize refused it (%v) but parseQuery did not", q, terr)
			}
		} else if len(clauses) > MaxClauses {
			t.Fatalf("%q: %d clauses, more than %d", q, len(clauses), MaxClauses)
		}
		if len(q) > MaxQueryLen && perr == nil {
			t.Fatalf("a query of %d bytes was accepted", len(q))
		}
		if !utf8.ValidString(q) && perr == nil {
			t.Fatalf("%q: invalid UTF-8 was accepted", q)
		}
		if perr != nil {
			requireInvalidQ(t, q, perr)
			if bq != nil {
				t.Fatalf("%q: both a query and an error", q)
			}
		} else if (bq == nil) != (len(clauses) == 0) {
			t.Fatalf("%q: query %v for %d clauses", q, bq, len(clauses))
		}

		_, serr := s.Search(context.Background(), admin, Request{Query: q})
		switch {
		case perr != nil && serr == nil:
			t.Fatalf("%q: parseQuery refused it (%v) but Search did not", q, perr)
		case perr != nil:
			requireInvalidQ(t, q, serr)
		case serr != nil:
			t.Fatalf("%q: parsed, but the search failed: %v", q, serr)
		}
	})
}

// requireInvalidQ fails unless err is a validation error about field q.
func requireInvalidQ(t *testing.T, q string, err error) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid || len(e.Fields) == 0 || e.Fields[0].Field != "q" {
		t.Fatalf("%.60q: want a validation error on q, got %#v", q, err)
	}
}
