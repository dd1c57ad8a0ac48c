package main

// `casefile import postmortems` and `casefile import cases`, run as a user
// runs them, against a data dir whose store the test then reads through
// the services (as leadership, and through search).

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/config"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/search"
)

const importAdminPassword = "admin-password-123"

// importEnv is a data dir with users admin, lena (lead) and lou
// (leadership), made through the services as the server would make them.
type importEnv struct {
	dir    string
	getenv func(string) string
}

func newImportEnv(t *testing.T) importEnv {
	t.Helper()
	e := importEnv{dir: t.TempDir(), getenv: func(string) string { return "" }}
	e.with(t, func(a *app) {
		ctx := context.Background()
		_, _, err := a.Auth.EnsureAdmin(ctx, importAdminPassword)
		require.NoError(t, err)
		for _, nu := range []auth.NewUser{
			{Username: "lena", Role: auth.RoleLead, Team: "fraud", Password: importAdminPassword},
			{Username: "lou", Role: auth.RoleLeadership, Password: importAdminPassword},
		} {
			_, err := a.Auth.CreateUser(ctx, &auth.System, nu, auth.Meta{})
			require.NoError(t, err)
		}
	})
	return e
}

// with opens the data dir as the binary does, index caught up, for fn.
func (e importEnv) with(t *testing.T, fn func(a *app)) {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Parse([]string{"--data", e.dir}, e.getenv, io.Discard)
	require.NoError(t, err)
	a, err := open(ctx, cfg, newLogger(io.Discard, 0), nil)
	require.NoError(t, err)
	defer a.close(ctx)
	require.NoError(t, a.syncIndex(ctx))
	fn(a)
}

// run runs `casefile import ARGS... --data DIR` and returns its output.
func (e importEnv) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append(append([]string{"casefile", "import"}, args...), "--data", e.dir), e.getenv, &out)
	return out.String(), err
}

func (e importEnv) user(t *testing.T, a *app, name string) *auth.User {
	t.Helper()
	u, err := a.Auth.Lookup(context.Background(), name)
	require.NoError(t, err)
	return &u
}

func countDocs(t *testing.T, a *app, coll string) int64 {
	t.Helper()
	n, err := a.db.Collection(coll).CountDocuments(context.Background(), bson.D{})
	require.NoError(t, err)
	return n
}

const pmDir = "testdata/import/postmortems"

func TestImportPostmortems(t *testing.T) {
	e := newImportEnv(t)
	out, err := e.run(t, "postmortems", pmDir)
	require.Error(t, err, "bad files make the command fail:\n%s", out)
	assert.ErrorContains(t, err, "5 of 7 files failed")

	t.Run("good_files_are_imported_bad_ones_reported_at_their_lines", func(t *testing.T) {
		for _, want := range []string{
			"ok    payout-holds.md -> INC-2025-1 (created)",
			"ok    queue-backlog.md -> INC-2025-2 (created)",
			"FAIL  bad-yaml.md:3: did not find expected ',' or ']'",
			"FAIL  bad-fields.md:3: severity: must be one of sev0",
			"FAIL  bad-fields.md:8: root_causes[0].subcategory: must be one of sop_gap",
			"FAIL  bad-fields.md:10: action_items[0].owner: is required",
			"FAIL  bad-unknown-key.md:5: unknown key reviewers",
			`FAIL  bad-time.md:4: started_at: "the day after the launch" is not a time`,
			"FAIL  bad-time.md:12: timeline: ",
			"FAIL  bad-pii.md:8: postmortem.summary: contains a email: seller@example.com",
			"postmortems: 2 created, 0 completed, 0 unchanged, 5 failed",
		} {
			assert.Contains(t, out, want)
		}
	})

	e.with(t, func(a *app) {
		ctx := context.Background()
		t.Run("bad_files_leave_nothing_behind", func(t *testing.T) {
			assert.Equal(t, int64(2), countDocs(t, a, "incidents"))
			assert.Equal(t, int64(2), countDocs(t, a, "postmortems"))
			assert.Equal(t, int64(2), countDocs(t, a, "imports"))
			n, err := a.db.CurrentSeq(ctx, "incident_key_2025")
			require.NoError(t, err)
			assert.Equal(t, int64(2), n, "refused files take no incident number")
		})
		lou := e.user(t, a, "lou")
		t.Run("leadership_reads_the_published_postmortems", func(t *testing.T) {
			pub, err := a.RCA.GetPublished(ctx, lou, "INC-2025-1", 0)
			require.NoError(t, err)
			assert.Equal(t, 1, pub.Revision)
			assert.Equal(t, "Payout holds released before review", pub.Title)
			assert.True(t, strings.HasPrefix(pub.Content.Summary, "For a day, payouts held"), pub.Content.Summary)
			assert.Equal(t, "Forty-one flagged merchants were paid out early.", pub.Content.Impact)
			require.Len(t, pub.Content.Timeline, 3)
			assert.Equal(t, time.Date(2025, 11, 3, 8, 40, 0, 0, time.UTC), pub.Content.Timeline[1].At.UTC())
			assert.Equal(t, "Holds restored by hand and the deploy rolled back", pub.Content.Timeline[2].Event)
			assert.Contains(t, pub.Content.Body, "## Appendix", "an unknown section goes to the body")

			in, err := a.RCA.GetIncident(ctx, lou, "INC-2025-1")
			require.NoError(t, err)
			assert.Equal(t, rca.Resolved, in.Status)
			assert.Empty(t, in.RCA.RootCauses, "leadership sees the summary only")

			admin := e.user(t, a, "admin")
			full, err := a.RCA.GetIncident(ctx, admin, "INC-2025-1")
			require.NoError(t, err)
			require.Len(t, full.RCA.RootCauses, 3)
			assert.Equal(t, rca.Policy, full.RCA.RootCauses[2].Category)
			require.Len(t, full.ActionItems, 3)
			assert.Equal(t, "process", full.ActionItems[1].Kind, "category is another name for kind")
			assert.Equal(t, []string{"US", "DE"}, full.Impact.Regions)

			backlog, err := a.RCA.GetPublished(ctx, lou, "INC-2025-2", 0)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(backlog.Content.Summary, "Harassment reports waited"), "text before the first section is the summary")
			assert.Equal(t, "The forecast was shared with the vendor too late.", backlog.Content.WhatWentWrong)
		})
		t.Run("leadership_finds_them_by_search", func(t *testing.T) {
			res, err := a.Searcher.Search(ctx, lou, search.Request{Query: "Zanzibarite", Types: []string{search.TypePostmortem}, Size: 10})
			require.NoError(t, err)
			require.Len(t, res.Hits, 1)
			assert.Equal(t, "INC-2025-1", res.Hits[0].Key)
		})
	})

	t.Run("a_rerun_creates_nothing", func(t *testing.T) {
		out, err := e.run(t, "postmortems", pmDir)
		require.Error(t, err)
		assert.Contains(t, out, "ok    payout-holds.md -> INC-2025-1 (imported before; unchanged)")
		assert.Contains(t, out, "postmortems: 0 created, 0 completed, 2 unchanged, 5 failed")
		e.with(t, func(a *app) {
			assert.Equal(t, int64(2), countDocs(t, a, "incidents"))
			assert.Equal(t, int64(2), countDocs(t, a, "postmortem_revisions"))
			n, err := a.db.CurrentSeq(context.Background(), "incident_key_2025")
			require.NoError(t, err)
			assert.Equal(t, int64(2), n)
		})
	})

	t.Run("acknowledge_pii_publishes_and_reports_the_finding", func(t *testing.T) {
		dir := t.TempDir()
		copyFile(t, filepath.Join(pmDir, "bad-pii.md"), filepath.Join(dir, "named.md"))
		out, err := e.run(t, "postmortems", dir, "--acknowledge-pii")
		require.NoError(t, err, out)
		assert.Contains(t, out, "ok    named.md -> INC-2025-3 (created)")
		assert.Contains(t, out, `named.md:8: postmortem.summary: email "seller@example.com"`)
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
}

// TestImportPostmortemsCompletesPartialImport leaves the store as a crash
// right after the first write of an import would (only the incident,
// under the import's id), and runs the import again.
func TestImportPostmortemsCompletesPartialImport(t *testing.T) {
	e := newImportEnv(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(pmDir, "payout-holds.md"), filepath.Join(dir, "payout-holds.md"))
	e.with(t, func(a *app) {
		now := time.Now().UTC().Truncate(time.Millisecond)
		in := rca.Incident{ID: rca.ImportID("payout-holds"), Key: "INC-2025-7", Kind: rca.KindIncident, Title: "Payout holds released before review",
			Severity: "sev1", Status: rca.Resolved, StartedAt: now.Add(-time.Hour), ResolvedAt: &now, LinkedCases: []string{},
			Impact: rca.Impact{Regions: []string{}}, RCA: rca.RCA{RootCauses: []rca.RootCause{}, ContributingFactors: []string{}, MitigationGaps: []rca.MitigationGap{}},
			ActionItems: []rca.ActionItem{}, CreatedAt: now, CreatedBy: "admin", UpdatedAt: now, Version: 1, Seq: 1}
		require.NoError(t, rca.NewMongoStore(a.db).InsertIncidentDoc(context.Background(), &in))
	})

	out, err := e.run(t, "postmortems", dir)
	require.NoError(t, err, out)
	assert.Contains(t, out, "ok    payout-holds.md -> INC-2025-7 (completed an interrupted import)")

	out, err = e.run(t, "postmortems", dir)
	require.NoError(t, err, out)
	assert.Contains(t, out, "ok    payout-holds.md -> INC-2025-7 (imported before; unchanged)")

	e.with(t, func(a *app) {
		ctx := context.Background()
		pub, err := a.RCA.GetPublished(ctx, e.user(t, a, "lou"), "INC-2025-7", 0)
		require.NoError(t, err)
		assert.Equal(t, 1, pub.Revision)
		assert.Equal(t, int64(1), countDocs(t, a, "incidents"))
		assert.Equal(t, int64(1), countDocs(t, a, "postmortems"))
		n, err := a.db.CurrentSeq(ctx, "incident_key_2025")
		require.NoError(t, err)
		assert.Zero(t, n, "the incident's key was kept: no number taken")
	})
}

const casesCSV = "testdata/import/cases/cases.csv"

func TestImportCases(t *testing.T) {
	e := newImportEnv(t)
	out, err := e.run(t, "cases", casesCSV)
	require.Error(t, err, out)
	assert.ErrorContains(t, err, "4 rows failed")
	key := regexp.MustCompile(`cases\.csv:9 -> (CF-\d{4}-\d+) \(created\)`).FindStringSubmatch(out)
	require.Len(t, key, 2, out)
	for _, want := range []string{
		"cases.csv:2 -> CF-",
		"cases.csv:3 -> CF-", // a quoted summary spans lines 3 and 4
		"FAIL  cases.csv:5: severity: must be one of sev1, sev2, sev3, sev4",
		`FAIL  cases.csv:6: policy_areas: "fraud" is not one of`,
		"FAIL  cases.csv:7: restricted: must be true or false",
		"FAIL  cases.csv:8: wrong number of fields",
		"ok    cases.csv:10 -> " + key[1] + " (imported before; unchanged)", // the same row again
		"cases: 3 created, 1 unchanged, 4 failed",
	} {
		assert.Contains(t, out, want)
	}

	t.Run("a_rerun_creates_nothing", func(t *testing.T) {
		out, err := e.run(t, "cases", casesCSV)
		require.Error(t, err)
		assert.Contains(t, out, "cases: 0 created, 4 unchanged, 4 failed")
		e.with(t, func(a *app) {
			assert.Equal(t, int64(3), countDocs(t, a, "cases"))
			c, err := a.Cases.Get(context.Background(), e.user(t, a, "admin"), key[1], auth.Meta{})
			require.NoError(t, err)
			assert.True(t, c.Restricted)
			assert.Equal(t, "safety", c.Team)
		})
	})
	t.Run("the_same_external_id_with_other_content_is_refused", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "changed.csv")
		require.NoError(t, os.WriteFile(f, []byte("title,actor_id,policy_areas,severity,source_kind,source_channel,external_id\n"+
			"Renamed refund scam,m-1001,fraud_scam,sev2,reactive,user_report,EXT-1\n"), 0o600))
		out, err := e.run(t, "cases", f)
		require.Error(t, err)
		assert.Contains(t, out, "FAIL  changed.csv:2: this Idempotency-Key was used for a different request")
	})
	t.Run("a_bad_header_is_refused_before_anything", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "header.csv")
		require.NoError(t, os.WriteFile(f, []byte("title,actor,policy_areas\nx,y,z\n"), 0o600))
		_, err := e.run(t, "cases", f)
		assert.ErrorContains(t, err, `header.csv:1: unknown column "actor"`)
	})
}

func TestImportRefusals(t *testing.T) {
	e := newImportEnv(t)
	t.Run("a_non_admin_is_refused_and_audited", func(t *testing.T) {
		_, err := e.run(t, "cases", casesCSV, "--as", "lena")
		assert.ErrorContains(t, err, "only admins may import")
		_, err = e.run(t, "postmortems", pmDir, "--as", "lou")
		assert.ErrorContains(t, err, "only admins may import")
		e.with(t, func(a *app) {
			assert.Zero(t, countDocs(t, a, "cases"))
			assert.Zero(t, countDocs(t, a, "incidents"))
			ev, _, _, err := a.Audit.List(context.Background(), auth.AuditFilter{User: "lena", Action: "case.import"}, 10, "")
			require.NoError(t, err)
			require.Len(t, ev, 1)
			assert.Equal(t, auth.OutcomeDenied, ev[0].Outcome)
		})
	})
	t.Run("an_unknown_user_is_refused", func(t *testing.T) {
		_, err := e.run(t, "cases", casesCSV, "--as", "nobody")
		assert.ErrorContains(t, err, "--as nobody: no such user")
	})
	t.Run("not_while_the_server_runs_on_the_embedded_store", func(t *testing.T) {
		s := startServer(t, e.dir, nil)
		_, err := e.run(t, "cases", casesCSV)
		assert.ErrorContains(t, err, "in use by another casefile process")
		s.shutdown(t)
	})
}

func TestParsePostmortemFile(t *testing.T) {
	const fm = "---\ntitle: T\nseverity: sev2\nstarted_at: 2025-10-01T00:00:00Z\n---\n"
	tests := []struct {
		name    string
		body    string
		check   func(t *testing.T, c rca.Content, d *pmDocument)
		problem string
	}{
		{name: "sections_by_heading_case_insensitive", body: "## summary\nS.\n## What Went Well:\nW.\n## Lessons learned\nL.\n",
			check: func(t *testing.T, c rca.Content, d *pmDocument) {
				assert.Equal(t, "S.", c.Summary)
				assert.Equal(t, "W.", c.WhatWentWell)
				assert.Equal(t, "L.", c.Lessons)
				assert.Equal(t, 6, d.lineOf("postmortem.summary"))
			}},
		{name: "a_heading_inside_a_code_fence_is_text", body: "## Details\n```\n## Summary\n```\n## Summary\nS.\n",
			check: func(t *testing.T, c rca.Content, _ *pmDocument) {
				assert.Equal(t, "S.", c.Summary)
				assert.Equal(t, "```\n## Summary\n```", c.Body)
			}},
		{name: "a_leading_title_is_dropped", body: "# Title\n\nThe summary.\n",
			check: func(t *testing.T, c rca.Content, _ *pmDocument) { assert.Equal(t, "The summary.", c.Summary) }},
		{name: "timeline_separators_and_forms", body: "## Summary\nS.\n## Timeline\n- 2025-10-01T10:00:00+02:00: a\n* 2025-10-01 09:00 — b\n- 2025-10-02 - c\n",
			check: func(t *testing.T, c rca.Content, d *pmDocument) {
				require.Len(t, c.Timeline, 3)
				assert.Equal(t, time.Date(2025, 10, 1, 8, 0, 0, 0, time.UTC), c.Timeline[0].At)
				assert.Equal(t, "b", c.Timeline[1].Event)
				assert.Equal(t, time.Date(2025, 10, 2, 0, 0, 0, 0, time.UTC), c.Timeline[2].At)
				assert.Equal(t, 11, d.lineOf("postmortem.timeline[2].event"))
			}},
		{name: "a_section_twice_is_refused", body: "## Summary\nS.\n## Summary\nT.\n", problem: "x.md:8: section \"Summary\" appears twice (also at line 6)"},
		{name: "no_front_matter", body: "", problem: "x.md:1: no front matter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fm + tt.body
			if tt.name == "no_front_matter" {
				src = "## Summary\nS.\n"
			}
			d, probs := parsePostmortemFile("x.md", []byte(src))
			if tt.problem != "" {
				require.NotEmpty(t, probs)
				assert.True(t, strings.HasPrefix(probs[0].String(), tt.problem), probs[0].String())
				return
			}
			require.Empty(t, probs)
			assert.Equal(t, "x", d.imp.Ref, "the file name is the import id")
			tt.check(t, d.imp.Content, d)
		})
	}
}
