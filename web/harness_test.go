package web_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/storetest"
	"casefile.dev/casefile/internal/syncbuf"
	"casefile.dev/casefile/internal/wire"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/web"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// password is every harness user's password.
const password = "correct horse battery staple"

// Usernames of the users the harness creates, one per role.
const (
	adminName        = "ada"
	leadName         = "lee"
	investigatorName = "ivy"
	vendorAgentName  = "val"
	leadershipName   = "lex"
)

var userOfRole = map[auth.Role]string{
	auth.RoleAdmin:        adminName,
	auth.RoleLead:         leadName,
	auth.RoleInvestigator: investigatorName,
	auth.RoleVendorAgent:  vendorAgentName,
	auth.RoleLeadership:   leadershipName,
}

var nonAdminRoles = []auth.Role{auth.RoleLead, auth.RoleInvestigator, auth.RoleVendorAgent, auth.RoleLeadership}

type harnessOptions struct {
	trustedProxies []netip.Prefix
	ready          func(context.Context) error
	// teams puts harness users on a team, by username.
	teams map[string]string
	// users are created besides the one user per role; an empty Password
	// is the harness password.
	users []auth.NewUser
	// maxAttachment is Deps.MaxAttachment (0: the default).
	maxAttachment int64
}

// harness is a Casefile HTTP server on real components: the embedded store,
// auth.Service, auth.Audit, Ed25519 keys, the case and RCA services, the
// blob store and the search index with its feed, wired as cmd/casefile's
// open does; only the clock is fake.
type harness struct {
	app   *fiber.App
	db    *store.DB
	svc   *auth.Service
	audit *auth.Audit
	cases *cases.Service
	rca   *rca.Service
	clock *fakeclock.Clock
	key   ed25519.PrivateKey
	logs  *syncbuf.Buffer
	api   *apiRecorder // the API exchanges, checked against openapi.yaml
}

func newHarness(t *testing.T, opts ...harnessOptions) *harness {
	t.Helper()
	var o harnessOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := context.Background()
	db := storetest.New(t)
	clock := fakeclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	// The domain services and the search index, as the binary wires them.
	all, err := wire.New(ctx, wire.Config{DB: db, Keys: auth.NewKeySet(priv), Now: clock.Now,
		Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}, Logger: logger, IndexDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, all.Close()) })
	require.NoError(t, all.Sync(ctx, logger))
	svc, audit := all.Auth, all.Audit
	for _, role := range auth.Roles {
		nu := auth.NewUser{Username: userOfRole[role], Role: role, Team: o.teams[userOfRole[role]], Password: password}
		if role == auth.RoleVendorAgent {
			nu.Vendor = "acme"
		}
		_, err := svc.CreateUser(ctx, &auth.System, nu, auth.Meta{})
		require.NoError(t, err)
	}
	for _, nu := range o.users {
		if nu.Password == "" {
			nu.Password = password
		}
		_, err := svc.CreateUser(ctx, &auth.System, nu, auth.Meta{})
		require.NoError(t, err)
	}
	caseSvc, rcaSvc := all.Cases, all.RCA

	app := web.NewServer(web.Deps{
		Auth:           svc,
		Users:          svc,
		Audit:          audit,
		Logger:         logger,
		Ready:          o.ready,
		TrustedProxies: o.trustedProxies,
		Version:        "test",
		Cases:          caseSvc,
		RCA:            rcaSvc,
		Risks:          all.Risks,
		Search:         all.Searcher,
		Quality:        all.Quality,
		Webhooks:       all.Webhooks,
		Now:            clock.Now,
		MaxAttachment:  o.maxAttachment,
	})
	return &harness{app: app, db: db, svc: svc, audit: audit, cases: caseSvc, rca: rcaSvc, clock: clock, key: priv, logs: logs,
		api: newAPIRecorder(t, app)}
}

// response is an answer with its body read.
type response struct {
	*http.Response
	body []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// req describes one request; body is JSON-encoded unless it is a string or
// []byte, which are sent as they are.
type req struct {
	method string
	path   string
	token  string
	body   any
	header map[string]string
	ctype  string // Content-Type when body is set; application/json if empty
}

func (h *harness) do(t *testing.T, r req) response {
	t.Helper()
	var body io.Reader = http.NoBody
	if r.body != nil {
		var b []byte
		switch v := r.body.(type) {
		case string:
			b = []byte(v)
		case []byte:
			b = v
		default:
			var err error
			b, err = json.Marshal(v)
			require.NoError(t, err)
		}
		body = bytes.NewReader(b)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != nil {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	res, err := h.app.Test(hr, -1)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	h.api.record(hr, res, b)
	return response{Response: res, body: b}
}

func (h *harness) get(t *testing.T, path, token string) response {
	t.Helper()
	return h.do(t, req{method: http.MethodGet, path: path, token: token})
}

// tokens logs in through HTTP and returns the pair.
func (h *harness) tokens(t *testing.T, username string) auth.Tokens {
	t.Helper()
	res := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: map[string]string{"username": username, "password": password}})
	require.Equal(t, http.StatusOK, res.StatusCode, "login %s: %s", username, res.body)
	var tk auth.Tokens
	res.json(t, &tk)
	require.NotEmpty(t, tk.AccessToken)
	return tk
}

// login logs in through HTTP and returns the access token.
func (h *harness) login(t *testing.T, username string) string {
	t.Helper()
	return h.tokens(t, username).AccessToken
}

// problemDoc is the problem+json document the API answers errors with.
type problemDoc struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (p problemDoc) fields() []string {
	var names []string
	for _, e := range p.Errors {
		names = append(names, e.Field)
	}
	return names
}

const problemBase = "https://casefile.dev/problems/"

// requireProblem checks that res is a problem+json error with status and
// type slug, and returns the document.
func requireProblem(t *testing.T, res response, status int, slug string) problemDoc {
	t.Helper()
	require.Equal(t, status, res.StatusCode, "body: %s", res.body)
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	var p problemDoc
	res.json(t, &p)
	assert.Equal(t, problemBase+slug, p.Type)
	assert.Equal(t, status, p.Status)
	assert.NotEmpty(t, p.Title)
	assert.NotEmpty(t, p.RequestID)
	assert.Equal(t, res.Header.Get("X-Request-ID"), p.RequestID, "the problem names the request id the response carries")
	return p
}

// auditPage is the answer of GET /audit.
type auditPage struct {
	Items      []auth.AuditEvent `json:"items"`
	NextCursor string            `json:"next_cursor"`
	Total      int64             `json:"total"`
}

func (h *harness) auditEvents(t *testing.T, adminToken string, query url.Values) auditPage {
	t.Helper()
	res := h.get(t, "/api/v1/audit?"+query.Encode(), adminToken)
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
	var page auditPage
	res.json(t, &page)
	return page
}

// userPage is the answer of GET /users.
type userPage struct {
	Items      []map[string]any `json:"items"`
	NextCursor string           `json:"next_cursor"`
	Total      int64            `json:"total"`
}

// listen serves the app on a real loopback listener until the test ends.
func (h *harness) listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- h.app.Listener(web.LingeringListener(ln)) }()
	t.Cleanup(func() {
		require.NoError(t, h.app.ShutdownWithTimeout(5*time.Second))
		<-done
	})
	return ln.Addr().String()
}

// rawExchange writes a raw request to addr and reads the response while
// the request is still being written: a server that refuses a request early
// answers and closes without reading the rest.
func rawExchange(t *testing.T, addr string, request []byte) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	go func() { _, _ = conn.Write(request) }() // fails once the server closes; that is expected
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{Response: res, body: b}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func etag(version int) string { return fmt.Sprintf(`"%d"`, version) }

// The cast of the case and incident tests, besides the harness users: lee
// (lead) and ivy (investigator) are on team fraud there.
const (
	ottoName = "otto" // investigator, team spam
	vicName  = "vic"  // vendor_agent, vendor acme
	veraName = "vera" // vendor_agent, vendor other
	leoName  = "leo"  // leadership
	lenaName = "lena" // a second lead, team fraud
)

// world is a harness with the case cast signed in.
type world struct {
	*harness
	tok map[string]string // access token by username
}

// newWorld starts a harness with the case cast; maxAttachment is
// Deps.MaxAttachment (0: the default).
func newWorld(t *testing.T, maxAttachment int64) *world {
	t.Helper()
	h := newHarness(t, harnessOptions{
		teams: map[string]string{leadName: "fraud", investigatorName: "fraud"},
		users: []auth.NewUser{
			{Username: ottoName, Role: auth.RoleInvestigator, Team: "spam"},
			{Username: vicName, Role: auth.RoleVendorAgent, Vendor: "acme"},
			{Username: veraName, Role: auth.RoleVendorAgent, Vendor: "other"},
			{Username: leoName, Role: auth.RoleLeadership},
			{Username: lenaName, Role: auth.RoleLead, Team: "fraud"},
		},
		maxAttachment: maxAttachment,
	})
	w := &world{harness: h, tok: map[string]string{}}
	for _, name := range []string{adminName, leadName, investigatorName, ottoName, vicName, veraName, leoName, lenaName} {
		w.tok[name] = h.login(t, name)
	}
	return w
}

// relogin signs the cast in again, after the fake clock moved past the
// access tokens' lifetime.
func (w *world) relogin(t *testing.T) {
	t.Helper()
	for name := range w.tok {
		w.tok[name] = w.login(t, name)
	}
}

// as sends r with the access token of username.
func (w *world) as(t *testing.T, username string, r req) response {
	t.Helper()
	r.token = w.tok[username]
	return w.do(t, r)
}

// newCase is a valid POST /cases body: a sev3 user report about actorID in
// area (fraud_scam when empty), for team and vendor.
func newCase(actorID, area, team, vendor string) map[string]any {
	if area == "" {
		area = "fraud_scam"
	}
	body := map[string]any{
		"title":          "Suspicious activity by " + actorID,
		"summary":        "Reported by several users.",
		"actor":          map[string]any{"actor_id": actorID},
		"policy_areas":   []string{area},
		"severity":       "sev3",
		"source_kind":    "reactive",
		"source_channel": "user_report",
	}
	if team != "" {
		body["team"] = team
	}
	if vendor != "" {
		body["vendor"] = vendor
	}
	return body
}

// createCase files a case as username and requires 201.
func (w *world) createCase(t *testing.T, username string, body map[string]any) cases.Case {
	t.Helper()
	res := w.as(t, username, req{method: http.MethodPost, path: "/api/v1/cases", body: body})
	require.Equal(t, http.StatusCreated, res.StatusCode, "create case: %s", res.body)
	var c cases.Case
	res.json(t, &c)
	return c
}

// getCase reads a case as username and requires 200.
func (w *world) getCase(t *testing.T, username, idOrKey string) cases.Case {
	t.Helper()
	res := w.get(t, "/api/v1/cases/"+idOrKey, w.tok[username])
	require.Equal(t, http.StatusOK, res.StatusCode, "get case %s: %s", idOrKey, res.body)
	var c cases.Case
	res.json(t, &c)
	return c
}

// caseTotal is the total of GET /cases as username.
func (w *world) caseTotal(t *testing.T, username string) int64 {
	t.Helper()
	res := w.get(t, "/api/v1/cases", w.tok[username])
	require.Equal(t, http.StatusOK, res.StatusCode, "list cases: %s", res.body)
	var page struct {
		Total int64 `json:"total"`
	}
	res.json(t, &page)
	return page.Total
}
