package main

// `casefile demo`, run as a newcomer runs it: seed a small dataset, serve
// it, sign in as leadership; run it again (no second dataset); refuse a
// data dir with someone else's data.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/demo"
	"casefile.dev/casefile/rca"
)

const demoTestPassword = "demo-password-123"

// demoSizes keep the test's dataset small.
var demoSizes = []string{"--cases", "16", "--incidents", "4", "--postmortems", "2", "--risks", "1", "--days", "30"}

func demoEnv() func(string) string {
	return func(k string) string {
		if k == demoPasswordEnv {
			return demoTestPassword
		}
		return ""
	}
}

// startDemo runs `casefile demo` with args until it listens.
func startDemo(t *testing.T, args ...string) *server {
	t.Helper()
	return startRun(t, append([]string{"casefile", "demo", "--addr", "127.0.0.1:0"}, args...), demoEnv())
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"casefile", "demo", "--data", dir, "--seed-only"}, demoSizes...), demoEnv(), &out)
	require.NoError(t, err, out.String())
	assert.Contains(t, out.String(), "seeding: 100%")
	assert.Contains(t, out.String(), "lou       leadership")
	assert.Contains(t, out.String(), "("+demoPasswordEnv+")", "a shared password is not printed")

	e := importEnv{dir: dir, getenv: func(string) string { return "" }}
	var cases, incidents int64
	e.with(t, func(a *app) {
		ctx := context.Background()
		t.Run("every_role_with_the_demo_password", func(t *testing.T) {
			seen := map[auth.Role]bool{}
			for _, m := range demo.Cast {
				u, err := a.Auth.Lookup(ctx, m.Username)
				require.NoError(t, err)
				seen[u.Role] = true
				_, err = a.Auth.Login(ctx, m.Username, demoTestPassword, auth.Meta{IP: "127.0.0.1"})
				assert.NoError(t, err, m.Username)
			}
			assert.Len(t, seen, len(auth.Roles))
		})
		t.Run("all_three_root_cause_categories_and_published_postmortems", func(t *testing.T) {
			admin := e.user(t, a, "admin")
			all, _, err := a.RCA.ListIncidents(ctx, admin, rca.IncidentQuery{Limit: 50})
			require.NoError(t, err)
			require.Len(t, all, 4)
			cats := map[rca.Category]bool{}
			published := 0
			for _, in := range all {
				full, err := a.RCA.GetIncident(ctx, admin, in.Key)
				require.NoError(t, err)
				for _, rc := range full.RCA.RootCauses {
					cats[rc.Category] = true
				}
				if _, err := a.RCA.GetPublished(ctx, e.user(t, a, "lou"), in.Key, 0); err == nil {
					published++
				}
			}
			assert.Len(t, cats, 3)
			assert.Equal(t, 2, published)
		})
		cases, incidents = countDocs(t, a, "cases"), countDocs(t, a, "incidents")
		assert.Equal(t, int64(16), cases)
	})

	t.Run("a_second_run_finds_the_dataset_and_serves_it", func(t *testing.T) {
		s := startDemo(t, append([]string{"--data", dir}, demoSizes...)...)
		s.waitReady(t)
		assert.Contains(t, s.out.String(), "holds the demo dataset")
		assert.NotContains(t, s.out.String(), "seeding:")
		assert.Eventually(t, func() bool { return strings.Contains(s.out.String(), "open "+s.base+"/login") }, 5*time.Second, 20*time.Millisecond,
			"it says where to sign in:\n%s", s.out.String())
		tok := s.login(t, "lou", demoTestPassword)
		resp, body := s.call(t, http.MethodGet, "/api/v1/postmortems", tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%v", body)
		assert.EqualValues(t, 2, body["total"])
		s.shutdown(t)
		e.with(t, func(a *app) {
			assert.Equal(t, cases, countDocs(t, a, "cases"), "no second dataset")
			assert.Equal(t, incidents, countDocs(t, a, "incidents"))
		})
	})
}

func TestDemoRefusesDataItDidNotMake(t *testing.T) {
	e := newImportEnv(t) // an admin and two users: someone's store
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"casefile", "demo", "--data", e.dir, "--seed-only"}, demoSizes...), demoEnv(), &out)
	require.ErrorContains(t, err, "holds data that casefile demo did not make")
	e.with(t, func(a *app) {
		assert.Zero(t, countDocs(t, a, "cases"))
		assert.Equal(t, int64(3), countDocs(t, a, "users"))
	})

	t.Run("a_bad_shared_password_is_refused_before_anything", func(t *testing.T) {
		err := run(context.Background(), []string{"casefile", "demo", "--data", t.TempDir(), "--seed-only"},
			func(k string) string {
				if k == demoPasswordEnv {
					return "short"
				}
				return ""
			}, io.Discard)
		assert.ErrorContains(t, err, "at least 12 characters")
	})
}
