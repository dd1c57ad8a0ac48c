package main

// `casefile backup` and `casefile restore`, end to end: a seeded store is
// backed up while the service runs, restored into a new data dir, and
// compared document by document; the restored service rebuilds its index
// and its audit chain verifies.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"casefile.dev/casefile/internal/store"
)

// bkDo sends a JSON request (nil body: none) with extra headers as name,
// value pairs and returns the status and the decoded JSON object.
func bkDo(t *testing.T, s *server, token, method, path string, body any, header ...string) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// bkMust is bkDo requiring a 2xx answer.
func bkMust(t *testing.T, s *server, token, method, path string, body any, header ...string) map[string]any {
	t.Helper()
	code, out := bkDo(t, s, token, method, path, body, header...)
	require.True(t, code >= 200 && code < 300, "%s %s: %d %v", method, path, code, out)
	return out
}

// bkUpload adds a file as evidence to case id.
func bkUpload(t *testing.T, s *server, token, id string, content []byte) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	require.NoError(t, w.WriteField("kind", "listing"))
	require.NoError(t, w.WriteField("description", "Listing screenshot"))
	fw, err := w.CreateFormFile("file", "listing.bin")
	require.NoError(t, err)
	_, err = fw.Write(content)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	req, err := http.NewRequest(http.MethodPost, s.base+"/api/v1/cases/"+id+"/evidence", &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", out)
}

// storeDump is every document of every collection of every database,
// each collection sorted by _id.
type storeDump map[string]map[string][]bson.Raw

// dumpStore reads the whole store at uri with the mongo driver.
func dumpStore(t *testing.T, uri string) storeDump {
	t.Helper()
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	require.NoError(t, err)
	defer func() { _ = client.Disconnect(ctx) }()
	dbs, err := client.ListDatabaseNames(ctx, bson.D{})
	require.NoError(t, err)
	out := storeDump{}
	for _, dbName := range dbs {
		db := client.Database(dbName)
		colls, err := db.ListCollectionNames(ctx, bson.D{})
		require.NoError(t, err)
		out[dbName] = map[string][]bson.Raw{}
		for _, c := range colls {
			cur, err := db.Collection(c).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
			require.NoError(t, err)
			var docs []bson.Raw
			for cur.Next(ctx) {
				docs = append(docs, append(bson.Raw(nil), cur.Current...))
			}
			require.NoError(t, cur.Err())
			require.NoError(t, cur.Close(ctx))
			out[dbName][c] = docs
		}
	}
	return out
}

// sameStore reports whether two dumps hold the same documents, byte for byte.
func sameStore(a, b storeDump) bool {
	if len(a) != len(b) {
		return false
	}
	for dbName, colls := range a {
		if len(colls) != len(b[dbName]) {
			return false
		}
		for c, docs := range colls {
			other, ok := b[dbName][c]
			if !ok || len(other) != len(docs) {
				return false
			}
			for i := range docs {
				if !bytes.Equal(docs[i], other[i]) {
					return false
				}
			}
		}
	}
	return true
}

// requireSameStore compares two dumps document by document, byte for byte.
func requireSameStore(t *testing.T, want, got storeDump) {
	t.Helper()
	require.ElementsMatch(t, mapKeys(want), mapKeys(got), "databases")
	for dbName, colls := range want {
		require.ElementsMatch(t, mapKeys(colls), mapKeys(got[dbName]), "collections of %s", dbName)
		for c, docs := range colls {
			other := got[dbName][c]
			require.Len(t, other, len(docs), "documents in %s.%s", dbName, c)
			for i := range docs {
				require.True(t, bytes.Equal(docs[i], other[i]), "%s.%s document %d differs:\nbacked up: %s\nrestored:  %s",
					dbName, c, i, docs[i].String(), other[i].String())
			}
		}
	}
}

func mapKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// socketURI is the connection string of the embedded store under dataDir.
func socketURI(dataDir string) string {
	return "mongodb://" + url.PathEscape(filepath.Join(dataDir, "db", "mongo.sock")) + "/"
}

// TestBackupRestoreRoundTrip: users, cases with notes and evidence, an
// incident with an RCA and their audit events are backed up while the
// service runs; restored into a new data dir they are the same documents,
// byte for byte, in every collection; the service started on the restore
// rebuilds its index (every case found), verifies its audit chain and
// serves the evidence files.
func TestBackupRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	env := e2eEnv()
	getenv := func(k string) string { return env[k] }
	src := t.TempDir()
	s := startServer(t, src, env)
	s.waitReady(t)
	admin := s.login(t, "admin", e2eAdminPassword)

	// Seed through the API, as users would.
	bkMust(t, s, admin, http.MethodPost, "/api/v1/users", map[string]any{"username": "lena", "role": "lead", "team": "t1", "password": "lead-password-123"})
	bkMust(t, s, admin, http.MethodPost, "/api/v1/users", map[string]any{"username": "ivy", "role": "investigator", "team": "t1",
		"display_name": "Ivy Investigator", "password": "ivy-password-123"})
	code, _ := bkDo(t, s, "", http.MethodPost, "/api/v1/auth/login", map[string]any{"username": "ivy", "password": "wrong-password-1"})
	require.Equal(t, http.StatusUnauthorized, code, "a failed login is audited too")
	ivy := s.login(t, "ivy", "ivy-password-123")

	const n = 4
	ids, keys := make([]string, n), make([]string, n)
	files := make([][]byte, n)
	for i := range n {
		out := bkMust(t, s, ivy, http.MethodPost, "/api/v1/cases", newCaseBody("Refund fraud ring "+word("zqbackup", i)))
		ids[i], keys[i] = str(out, "id"), str(out, "key")
		require.NotEmpty(t, ids[i])
		bkMust(t, s, ivy, http.MethodPost, "/api/v1/cases/"+ids[i]+"/notes", map[string]any{"text": fmt.Sprintf("Note %d: same shipping label template.", i)})
		bkMust(t, s, ivy, http.MethodPost, "/api/v1/cases/"+ids[i]+"/evidence", map[string]any{"kind": "message",
			"description": "Buyer chat: seller asks to move payment off-platform", "ref": fmt.Sprintf("msg-%04d", i)})
		// Larger than one blob chunk for the first case.
		files[i] = bytes.Repeat([]byte(fmt.Sprintf("evidence %d ", i)), 1+i*40_000)
		bkUpload(t, s, ivy, ids[i], files[i])
		bkMust(t, s, ivy, http.MethodPost, "/api/v1/cases/"+ids[i]+"/transitions", map[string]any{"to": "triage"})
		if i%2 == 0 {
			bkMust(t, s, ivy, http.MethodPost, "/api/v1/cases/"+ids[i]+"/transitions", map[string]any{"to": "investigating"})
		}
	}
	day := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Hour)
	inc := bkMust(t, s, ivy, http.MethodPost, "/api/v1/incidents", map[string]any{
		"title": "Refund-scam wave missed by detection " + word("zqbackupinc", 0), "severity": "sev1", "status": "resolved",
		"started_at": day, "detected_at": day.Add(26 * time.Hour), "mitigated_at": day.Add(28 * time.Hour), "resolved_at": day.Add(49 * time.Hour),
		"detection": "Buyers' reports piled up in a weekday-only queue.", "linked_cases": []string{keys[0]},
		"impact": map[string]any{"text": "Buyers lost money", "affected_actors": 240, "exposure_count": 18000, "regions": []string{"US"}},
	})
	incKey := str(inc, "key")
	require.NotEmpty(t, incKey, "%v", inc)
	bkMust(t, s, ivy, http.MethodPut, "/api/v1/incidents/"+incKey+"/rca", map[string]any{
		"problem_statement": "The scam classifier threshold was raised without evaluation",
		"root_causes":       []map[string]any{{"description": "Threshold raised in a deploy without a holdout evaluation", "category": "product", "subcategory": "model_quality"}},
	}, "If-Match", etagOf(inc))

	// Refusals first: MONGODB_URI, a missing store, a non-empty target.
	file := filepath.Join(t.TempDir(), "casefile-backup.tar.gz")
	var help bytes.Buffer
	require.NoError(t, run(ctx, []string{"casefile", "backup", "--help"}, getenv, &help))
	assert.Contains(t, help.String(), "mongodump")
	mongoEnv := func(k string) string {
		if k == "MONGODB_URI" {
			return "mongodb://127.0.0.1:1/"
		}
		return getenv(k)
	}
	assert.ErrorContains(t, run(ctx, []string{"casefile", "backup", file, "--data", src}, mongoEnv, io.Discard), "mongodump")
	assert.ErrorContains(t, run(ctx, []string{"casefile", "restore", file, "--data", t.TempDir()}, mongoEnv, io.Discard), "mongorestore")
	assert.ErrorContains(t, run(ctx, []string{"casefile", "backup", file, "--data", t.TempDir()}, getenv, io.Discard), "no embedded store")
	assert.NoFileExists(t, file)

	// The backup, while the service runs (flags after FILE work too). The
	// service also writes when nobody asks (the webhook dispatcher saves
	// its checkpoint up to a second after the requests that moved it), so
	// the source is read before and after: when nothing wrote in between,
	// that is what the backup holds. Otherwise the backup is taken again.
	var (
		out  bytes.Buffer
		want storeDump
	)
	for attempt := 1; ; attempt++ {
		before := dumpStore(t, socketURI(src))
		require.NoError(t, os.RemoveAll(file))
		out.Reset()
		start := time.Now()
		require.NoError(t, run(ctx, []string{"casefile", "backup", "--data", src, file}, getenv, &out))
		t.Logf("%s(%s)", out.String(), time.Since(start).Round(time.Millisecond))
		want = dumpStore(t, socketURI(src))
		if sameStore(before, want) {
			break
		}
		require.Less(t, attempt, 10, "the service kept writing while the backup was taken")
		time.Sleep(time.Second)
	}
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the backup holds every case and password hash")
	for _, c := range []string{"users", "cases", "audit", "incidents", "blobs", "blob_chunks"} {
		require.NotEmpty(t, want["casefile"][c], "the seed wrote to %s", c)
	}

	err = run(ctx, []string{"casefile", "restore", file, "--data", src}, getenv, io.Discard)
	assert.ErrorContains(t, err, "not empty", "restore never overwrites a data dir")
	// A truncated backup is refused and leaves nothing behind.
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	truncated := filepath.Join(t.TempDir(), "truncated.tar.gz")
	require.NoError(t, os.WriteFile(truncated, raw[:len(raw)*2/3], 0o600))
	bad := filepath.Join(t.TempDir(), "bad")
	assert.Error(t, run(ctx, []string{"casefile", "restore", truncated, "--data", bad}, getenv, io.Discard))
	assert.NoDirExists(t, bad, "a failed restore removes what it made")

	// Restore into a new data dir and compare every document, before any
	// service starts on it (a start writes: logins, QA catch-up).
	dst := filepath.Join(t.TempDir(), "restored")
	out.Reset()
	require.NoError(t, run(ctx, []string{"casefile", "restore", file, "--data", dst}, getenv, &out))
	t.Log(out.String())
	assert.NoDirExists(t, filepath.Join(dst, "index"), "the index is not restored: it is rebuilt")
	emb, err := store.StartEmbedded(ctx, filepath.Join(dst, "db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	got := dumpStore(t, emb.URI())
	emb.Close()
	requireSameStore(t, want, got)
	total := 0
	for _, colls := range want {
		for _, docs := range colls {
			total += len(docs)
		}
	}
	t.Logf("%d documents in %d collections compared", total, len(want["casefile"]))
	s.shutdown(t)

	// The restored service: index rebuilt, chain intact, data served.
	r := startServer(t, dst, env)
	r.waitReady(t)
	assert.Contains(t, r.out.String(), "search index rebuilt")
	ivy = r.login(t, "ivy", "ivy-password-123")
	for i := range n {
		r.requireOnce(t, ivy, word("zqbackup", i), ids[i])
		c := bkMust(t, r, ivy, http.MethodGet, "/api/v1/cases/"+ids[i], nil)
		assert.Len(t, c["evidence"], 2)
		req, err := http.NewRequest(http.MethodGet, r.base+"/api/v1/cases/"+ids[i]+"/evidence/2/file", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+ivy)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.True(t, bytes.Equal(files[i], body), "evidence file %d comes back whole", i)
	}
	res := r.searchFor(t, ivy, word("zqbackupinc", 0), "")
	assert.Equal(t, uint64(1), res.Total, "the incident is found too")
	admin = r.login(t, "admin", e2eAdminPassword)
	verify := bkMust(t, r, admin, http.MethodGet, "/api/v1/audit/verify", nil)
	assert.Equal(t, true, verify["ok"], "%v", verify)
	assert.Greater(t, verify["checked"], float64(len(want["casefile"]["audit"])-1), "%v", verify)
}
