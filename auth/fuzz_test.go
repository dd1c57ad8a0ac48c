package auth

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"
	"time"
	"unicode/utf8"
)

// Bounds of the times the fuzzer makes: years 1 to 9999, the range the
// canonical layout writes in four digits.
var (
	fuzzMinMs = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	fuzzMaxMs = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
)

// FuzzAuditCanonical checks the byte string the hash chain covers: it never
// panics, is the same every time, reads back (it is JSON) as exactly the
// event's fields, and changes when any one field changes (so no edit of a
// stored event keeps its hash). Hash itself is not covered.
//
// Strings are compared as valid UTF-8 only: encoding/json writes each
// invalid byte as U+FFFD, so "\xff" and "\xfe" encode alike (and read
// alike through the API); see the fuzzer's report.
//
// CI: go test ./auth -run '^$' -fuzz '^FuzzAuditCanonical$' -fuzztime 10s
func FuzzAuditCanonical(f *testing.F) {
	f.Add(int64(1), int64(1767225600000), "ada", "admin", "user.create", "user", "u1", "192.0.2.1", "r1", OutcomeSuccess,
		"role", "lead", "", uint8(0), "x")
	f.Add(int64(42), int64(0), "lee", "lead", "case.edit", "case", "c9", "2001:db8::1", "0123456789abcdef01234567", OutcomeDenied,
		"field", "title", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", uint8(11), "n")
	f.Add(int64(-1), int64(-1), `a","role":"admin`, "", `"}`, "\\", "\x00", "<&>", "\u2028", "", "", "", `"`, uint8(2), `a\",\"role\":\"admin`)
	f.Add(int64(7), int64(1767225600001), "ivy", "investigator", "a", "b", "c", "d", "e", OutcomeFailure, "k", "v", "p", uint8(1), "")
	f.Add(int64(7), int64(1767225600001), "ivy", "investigator", "a", "b", "c", "d", "e", OutcomeFailure, "k", "v", "p", uint8(12), "")

	f.Fuzz(func(t *testing.T, seq, atMs int64, user, role, action, etype, eid, ip, reqID, outcome, dk, dv, prev string, which uint8, alt string) {
		if atMs < 0 {
			atMs = -(atMs + 1)
		}
		at := time.UnixMilli(fuzzMinMs + atMs%(fuzzMaxMs-fuzzMinMs+1))
		e := AuditEvent{
			Seq: seq, At: at.In(time.FixedZone("X", 3600)), User: user, Role: Role(role), Action: action,
			Entity: Entity{Type: etype, ID: eid}, IP: ip, RequestID: reqID, Outcome: outcome,
			Detail: map[string]string{dk: dv, "z" + dk: dv + "z"}, PrevHash: prev, Hash: "ignored",
		}
		c := e.canonical()
		if again := e.canonical(); !bytes.Equal(c, again) {
			t.Fatalf("canonical not deterministic:\n%s\n%s", c, again)
		}
		copied := e
		copied.Detail = maps.Clone(e.Detail)
		copied.Hash = "other"
		if !bytes.Equal(c, copied.canonical()) {
			t.Fatalf("canonical depends on the map or Hash:\n%s\n%s", c, copied.canonical())
		}

		allValid := true
		for _, s := range []string{user, role, action, etype, eid, ip, reqID, outcome, dk, dv, prev, alt} {
			allValid = allValid && utf8.ValidString(s)
		}
		if allValid {
			requireRoundTrip(t, e, c)
		}

		// One field changed.
		d := e
		d.Detail = maps.Clone(e.Detail)
		switch which % 13 {
		case 0:
			d.Seq = e.Seq + 1 + int64(len(alt))
		case 1:
			d.At = e.At.Add(time.Duration(1+len(alt)) * time.Millisecond)
			if d.At.UnixMilli() > fuzzMaxMs {
				d.At = e.At.Add(-time.Duration(1+len(alt)) * time.Millisecond)
			}
		case 2:
			d.User = alt
		case 3:
			d.Role = Role(alt)
		case 4:
			d.Action = alt
		case 5:
			d.Entity.Type = alt
		case 6:
			d.Entity.ID = alt
		case 7:
			d.IP = alt
		case 8:
			d.RequestID = alt
		case 9:
			d.Outcome = alt
		case 10:
			d.PrevHash = alt
		case 11:
			delete(d.Detail, dk)
			d.Detail[alt] = dv
		case 12:
			d.Detail[dk] = alt
		}
		if !allValid || equalEvents(e, d) {
			return
		}
		if bytes.Equal(c, d.canonical()) {
			t.Fatalf("two events encode alike:\n%+v\n%+v\n%s", e, d, c)
		}
	})
}

// equalEvents compares the fields the hash covers, times at millisecond
// precision.
func equalEvents(a, b AuditEvent) bool {
	return a.Seq == b.Seq && a.At.UnixMilli() == b.At.UnixMilli() && a.User == b.User && a.Role == b.Role &&
		a.Action == b.Action && a.Entity == b.Entity && a.IP == b.IP && a.RequestID == b.RequestID &&
		a.Outcome == b.Outcome && maps.Equal(a.Detail, b.Detail) && a.PrevHash == b.PrevHash
}

// requireRoundTrip reads the canonical JSON back and compares it with e.
func requireRoundTrip(t *testing.T, e AuditEvent, c []byte) {
	t.Helper()
	var back struct {
		AuditEvent
		At string `json:"at"`
	}
	if err := json.Unmarshal(c, &back); err != nil {
		t.Fatalf("canonical is not JSON: %v: %s", err, c)
	}
	at, err := time.Parse("2006-01-02T15:04:05.000Z", back.At)
	if err != nil {
		t.Fatalf("canonical time %q: %v", back.At, err)
	}
	back.AuditEvent.At = at
	if !equalEvents(e, back.AuditEvent) || back.Hash != "" {
		t.Fatalf("canonical reads back as\n%+v\nnot\n%+v\n%s", back.AuditEvent, e, c)
	}
}
