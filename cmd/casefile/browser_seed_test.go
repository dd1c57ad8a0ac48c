package main

// Records the browser tests need, made through the API as their users
// would make them (the XSS and leadership flows, and the screenshots).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// api sends a JSON request as user (a username of the cast) with extra
// headers as name, value pairs, and decodes a JSON object answer.
func (e *browserEnv) api(t *testing.T, user, method, path string, body any, header ...string) (*http.Response, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.base+"/api/v1"+path, r)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	tok, ok := e.tokens[user]
	require.True(t, ok, "no token for %s", user)
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if out == nil && len(raw) > 0 {
		out = map[string]any{"raw": string(raw)}
	}
	return resp, out
}

// must is api requiring one of the 2xx statuses.
func (e *browserEnv) must(t *testing.T, user, method, path string, body any, header ...string) map[string]any {
	t.Helper()
	resp, out := e.api(t, user, method, path, body, header...)
	require.True(t, resp.StatusCode >= 200 && resp.StatusCode < 300, "%s %s as %s: %d %v", method, path, user, resp.StatusCode, out)
	return out
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// etagOf is the ETag value of a record (its "version" field).
func etagOf(m map[string]any) string {
	v, _ := m["version"].(float64)
	return strconv.Quote(strconv.FormatInt(int64(v), 10))
}

// seedCase files a case as user and returns its key. Fields in extra
// override the defaults.
func (e *browserEnv) seedCase(t *testing.T, user string, extra map[string]any) string {
	t.Helper()
	body := map[string]any{
		"title":          "Refund scam ring",
		"summary":        "Takes payment, never ships.",
		"actor":          map[string]any{"actor_id": "m-seed-1", "handle": "bestdeals", "kind": "merchant", "region": "US"},
		"policy_areas":   []string{"fraud_scam"},
		"severity":       "sev2",
		"source_kind":    "reactive",
		"source_channel": "user_report",
		"team":           "fraud",
		"assignee":       "ivy",
	}
	for k, v := range extra {
		body[k] = v
	}
	out := e.must(t, user, http.MethodPost, "/cases", body)
	key := str(out, "key")
	require.NotEmpty(t, key, "%v", out)
	return key
}

// patchCase changes a case's fields as user.
func (e *browserEnv) patchCase(t *testing.T, user, key string, fields map[string]any) {
	t.Helper()
	cur := e.must(t, user, http.MethodGet, "/cases/"+key, nil)
	e.must(t, user, http.MethodPatch, "/cases/"+key, fields, "If-Match", etagOf(cur))
}

// moveCase walks a case through statuses as user.
func (e *browserEnv) moveCase(t *testing.T, user, key string, to ...string) {
	t.Helper()
	for _, s := range to {
		e.must(t, user, http.MethodPost, "/cases/"+key+"/transitions", map[string]any{"to": s})
	}
}

// proposeEnforcement proposes as user and returns the enforcement id.
func (e *browserEnv) proposeEnforcement(t *testing.T, user, key string, body map[string]any) string {
	t.Helper()
	out := e.must(t, user, http.MethodPost, "/cases/"+key+"/enforcements", body)
	id := str(out, "id")
	require.NotEmpty(t, id, "%v", out)
	return id
}

// seedIncident opens a resolved incident as user and returns its key.
func (e *browserEnv) seedIncident(t *testing.T, user string, extra map[string]any) string {
	t.Helper()
	day := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Hour)
	body := map[string]any{
		"title": "Refund-scam wave missed by detection", "severity": "sev1", "status": "resolved",
		"started_at": day, "detected_at": day.Add(26 * time.Hour), "mitigated_at": day.Add(28 * time.Hour),
		"resolved_at": day.Add(49 * time.Hour),
		"detection":   "Buyers' reports piled up in a queue staffed only on weekdays.",
		"impact":      map[string]any{"text": "Buyers lost money to fake listings", "affected_actors": 240, "exposure_count": 18000, "regions": []string{"US"}},
	}
	for k, v := range extra {
		body[k] = v
	}
	out := e.must(t, user, http.MethodPost, "/incidents", body)
	key := str(out, "key")
	require.NotEmpty(t, key, "%v", out)
	return key
}

// putRCA records the incident's analysis as user.
func (e *browserEnv) putRCA(t *testing.T, user, key string, rca map[string]any) {
	t.Helper()
	cur := e.must(t, user, http.MethodGet, "/incidents/"+key, nil)
	e.must(t, user, http.MethodPut, "/incidents/"+key+"/rca", rca, "If-Match", etagOf(cur))
}

// publishPostmortem drafts (as author), submits, approves and publishes
// (as lead) the incident's postmortem.
func (e *browserEnv) publishPostmortem(t *testing.T, author, lead, key string, content map[string]any) {
	t.Helper()
	e.must(t, author, http.MethodPut, "/incidents/"+key+"/postmortem", content)
	e.must(t, author, http.MethodPost, "/incidents/"+key+"/postmortem/submit", nil)
	e.must(t, lead, http.MethodPost, "/incidents/"+key+"/postmortem/approve", nil)
	e.must(t, lead, http.MethodPost, "/incidents/"+key+"/postmortem/publish", map[string]any{"acknowledge_pii": true})
}

// seedRisk registers a risk as user and returns its key.
func (e *browserEnv) seedRisk(t *testing.T, user string, body map[string]any) string {
	t.Helper()
	out := e.must(t, user, http.MethodPost, "/risks", body)
	key := str(out, "key")
	require.NotEmpty(t, key, "%v", out)
	return key
}

// writePNG writes a small real PNG (a red-and-white test card) and
// returns its path.
func writePNG(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{R: 200, G: 40, B: 40, A: 255}
			if (x/8+y/8)%2 == 0 {
				c = color.RGBA{R: 255, G: 255, B: 255, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	p := filepath.Join(t.TempDir(), fmt.Sprintf("listing-%dx%d.png", w, h))
	require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
	return p
}
