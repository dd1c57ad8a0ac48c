package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/webhook"
	"casefile.dev/casefile/rca"
)

const hookSecret = "topsecret-0123456789abcdef"

func newHook(events ...string) map[string]any {
	return map[string]any{"url": "https://hooks.example.com/casefile", "events": events, "secret": hookSecret, "format": "slack"}
}

// createHook registers a webhook as the admin and returns its id.
func (w *world) createHook(t *testing.T, body map[string]any) string {
	t.Helper()
	res := w.as(t, adminName, req{method: http.MethodPost, path: "/api/v1/webhooks", body: body})
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
	var h struct {
		ID string `json:"id"`
	}
	res.json(t, &h)
	require.NotEmpty(t, h.ID)
	return h.ID
}

// dispatcher is a webhook service on the world's store, to turn the
// events of the requests into deliveries (the server's own one runs only
// in the binary).
func (w *world) dispatcher(t *testing.T) *webhook.Service {
	t.Helper()
	d, err := webhook.New(context.Background(), webhook.Config{DB: w.db, Audit: w.audit, Cases: cases.NewMongoStore(w.db), Incidents: rca.NewMongoStore(w.db),
		Taxonomy: w.cases, Now: w.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	return d
}

// TestWebhooksAreAdminOnly: every other role gets 403 from every webhook
// route, on an existing webhook too, before its body is read; the refusals
// are audited and change nothing. Anonymous callers get 401.
func TestWebhooksAreAdminOnly(t *testing.T) {
	w := newWorld(t, 0)
	id := w.createHook(t, newHook("case.created"))
	routes := []req{
		{method: http.MethodGet, path: "/api/v1/webhooks"},
		{method: http.MethodPost, path: "/api/v1/webhooks", body: newHook("case.created")},
		{method: http.MethodPost, path: "/api/v1/webhooks", body: map[string]any{"url": 1}}, // invalid: still 403, not 400
		{method: http.MethodDelete, path: "/api/v1/webhooks/" + id},
		{method: http.MethodGet, path: "/api/v1/webhooks/" + id + "/deliveries"},
	}
	for _, who := range []string{leadName, investigatorName, vicName, leoName} {
		t.Run(who, func(t *testing.T) {
			for _, r := range routes {
				res := w.as(t, who, r)
				requireProblem(t, res, http.StatusForbidden, "forbidden")
				assert.NotContains(t, string(res.body), "hooks.example.com")
			}
		})
	}
	t.Run("anonymous", func(t *testing.T) {
		for _, r := range routes {
			requireProblem(t, w.do(t, r), http.StatusUnauthorized, "unauthenticated")
		}
	})

	var list userPage
	res := w.get(t, "/api/v1/webhooks", w.tok[adminName])
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	res.json(t, &list)
	assert.EqualValues(t, 1, list.Total, "nothing was created or deleted")
	require.Len(t, list.Items, 1)
	assert.Equal(t, id, list.Items[0]["id"])

	denied := w.auditEvents(t, w.tok[adminName], url.Values{"action": {"webhooks.manage"}})
	assert.EqualValues(t, 4*len(routes), denied.Total, "each refusal is audited")
	for _, e := range denied.Items {
		assert.Equal(t, "denied", e.Outcome)
	}
}

// TestWebhookSecretIsNeverReturned: the create answers 201 with a
// Location and the webhook, without its secret; neither the list nor the
// audit log shows it.
func TestWebhookSecretIsNeverReturned(t *testing.T) {
	w := newWorld(t, 0)
	res := w.as(t, adminName, req{method: http.MethodPost, path: "/api/v1/webhooks", body: newHook("case.created", "sla.breached")})
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
	var created map[string]any
	res.json(t, &created)
	id, _ := created["id"].(string)
	require.NotEmpty(t, id)
	assert.Equal(t, "/api/v1/webhooks/"+id, res.Header.Get("Location"))
	assert.Equal(t, map[string]any{"id": id, "url": "https://hooks.example.com/casefile", "events": []any{"case.created", "sla.breached"},
		"format": "slack", "created_by": adminName, "created_at": "2026-03-02T09:00:00Z"}, created)

	for _, path := range []string{"/api/v1/webhooks", "/api/v1/audit?entity_type=webhook"} {
		res := w.get(t, path, w.tok[adminName])
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		assert.Contains(t, string(res.body), id)
		assert.NotContains(t, string(res.body), hookSecret, path)
		assert.NotContains(t, string(res.body), `"secret"`, path)
	}
	assert.NotContains(t, w.logs.String(), hookSecret)
}

// TestWebhookCreateValidation: bad fields are 400 validation problems
// naming each field, and store nothing.
func TestWebhookCreateValidation(t *testing.T) {
	w := newWorld(t, 0)
	with := func(k string, v any) map[string]any {
		b := newHook("case.created")
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	tests := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"no_url", with("url", nil), []string{"url"}},
		{"http_url", with("url", "http://hooks.example.com/x"), []string{"url"}},
		{"loopback_url", with("url", "https://127.0.0.1/x"), []string{"url"}},
		{"private_url", with("url", "https://192.168.10.2/x"), []string{"url"}},
		{"no_events", with("events", []string{}), []string{"events"}},
		{"unknown_event", with("events", []string{"case.created", "case.exploded"}), []string{"events"}},
		{"events_not_a_list", with("events", "case.created"), []string{"events"}},
		{"no_secret", with("secret", nil), []string{"secret"}},
		{"short_secret", with("secret", "short"), []string{"secret"}},
		{"bad_format", with("format", "teams"), []string{"format"}},
		{"server_field", with("created_by", "mallory"), []string{"created_by"}},
		{"several", map[string]any{"url": "ftp://x", "events": []string{}, "secret": "x"}, []string{"url", "events", "secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := w.as(t, adminName, req{method: http.MethodPost, path: "/api/v1/webhooks", body: tt.body})
			p := requireProblem(t, res, http.StatusBadRequest, "validation")
			assert.ElementsMatch(t, tt.fields, p.fields())
		})
	}
	res := w.get(t, "/api/v1/webhooks", w.tok[adminName])
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.JSONEq(t, `{"items":[],"total":0}`, string(res.body))
}

// TestWebhookDeliveriesList: deliveries page newest first in the list
// envelope, with the documented fields and no body or lease; a deleted or
// unknown webhook is 404, and so is its delete the second time.
func TestWebhookDeliveriesList(t *testing.T) {
	w := newWorld(t, 0)
	id := w.createHook(t, newHook("case.created"))
	other := w.createHook(t, newHook("case.transitioned"))
	for i := range 3 {
		w.createCase(t, leadName, newCase("hook-actor-"+string(rune('a'+i)), "", "fraud", ""))
	}
	_, err := w.dispatcher(t).Tail(context.Background())
	require.NoError(t, err)

	type page struct {
		Items []map[string]any `json:"items"`
		Next  string           `json:"next_cursor"`
		Total int64            `json:"total"`
	}
	get := func(path string) page {
		t.Helper()
		res := w.get(t, path, w.tok[adminName])
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		var p page
		res.json(t, &p)
		return p
	}
	first := get("/api/v1/webhooks/" + id + "/deliveries?limit=2")
	assert.EqualValues(t, 3, first.Total)
	require.Len(t, first.Items, 2)
	require.NotEmpty(t, first.Next)
	second := get("/api/v1/webhooks/" + id + "/deliveries?limit=2&cursor=" + url.QueryEscape(first.Next))
	require.Len(t, second.Items, 1)
	assert.Empty(t, second.Next)
	var seqs []int
	for _, d := range append(first.Items, second.Items...) {
		assert.Equal(t, id, d["webhook_id"])
		assert.Equal(t, "case.created", d["event"])
		assert.Equal(t, "pending", d["status"])
		assert.EqualValues(t, 0, d["attempts"])
		assert.Equal(t, "2026-03-02T09:00:00Z", d["next_attempt_at"])
		assert.NotEmpty(t, d["id"])
		for _, hidden := range []string{"body", "lease_until", "lease_owner", "version"} {
			assert.NotContains(t, d, hidden)
		}
		seq, err := strconv.Atoi(strings.TrimPrefix(d["event_id"].(string), "audit-"))
		require.NoError(t, err, "%v", d["event_id"])
		seqs = append(seqs, seq)
	}
	require.Len(t, seqs, 3)
	assert.True(t, seqs[0] > seqs[1] && seqs[1] > seqs[2], "newest first: %v", seqs)
	assert.Zero(t, get("/api/v1/webhooks/"+other+"/deliveries").Total, "the other webhook asked for no case.created")

	requireProblem(t, w.get(t, "/api/v1/webhooks/"+id+"/deliveries?cursor=bogus", w.tok[adminName]), http.StatusBadRequest, "validation")
	requireProblem(t, w.get(t, "/api/v1/webhooks/wh_000000000000000000000000/deliveries", w.tok[adminName]), http.StatusNotFound, "not-found")

	res := w.as(t, adminName, req{method: http.MethodDelete, path: "/api/v1/webhooks/" + id})
	require.Equal(t, http.StatusNoContent, res.StatusCode, "%s", res.body)
	requireProblem(t, w.as(t, adminName, req{method: http.MethodDelete, path: "/api/v1/webhooks/" + id}), http.StatusNotFound, "not-found")
	requireProblem(t, w.get(t, "/api/v1/webhooks/"+id+"/deliveries", w.tok[adminName]), http.StatusNotFound, "not-found")
	list := get("/api/v1/webhooks")
	require.Len(t, list.Items, 1)
	assert.Equal(t, other, list.Items[0]["id"])
}
