package main

// The HTTP side of `casefile load`: a small JSON client over net/http,
// sessions that refresh their access token before it expires, and the
// setup that creates the tool's users and seeds a published postmortem.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiClient talks JSON to one Casefile server.
type apiClient struct {
	base string // e.g. http://127.0.0.1:8080, no trailing slash
	hc   *http.Client
}

func newAPIClient(base string, conns int, timeout time.Duration) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns + 8
	tr.MaxIdleConnsPerHost = conns + 8
	return &apiClient{base: strings.TrimRight(base, "/"), hc: &http.Client{Transport: tr, Timeout: timeout}}
}

// statusError is a non-2xx answer.
type statusError struct {
	method, path string
	status       int
	body         string
	retryAfter   time.Duration
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, e.body)
}

// do sends method path with body (JSON-encoded when not nil) and the bearer
// token, reads the whole answer, and decodes a 2xx answer into out (when
// not nil). A transport failure or a non-2xx status is an error.
func (c *apiClient) do(ctx context.Context, method, path, token string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &statusError{method: method, path: path, status: resp.StatusCode, body: snippet(raw)}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			se.retryAfter = time.Duration(s) * time.Second
		}
		return se
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return nil
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// metric reads one unlabelled sample from the server's /metrics; ok is
// false when the server does not export it or cannot be read.
func (c *apiClient) metric(ctx context.Context, name string) (float64, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return 0, false
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return 0, false
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	found, v := false, 0.0
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); err == nil {
				found, v = true, f
			}
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return v, found
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// session is one signed-in user. It is used by one goroutine at a time.
type session struct {
	c        *apiClient
	username string
	access   string
	refresh  string
	renewAt  time.Time
}

func (s *session) set(t tokens) {
	s.access, s.refresh = t.AccessToken, t.RefreshToken
	life := time.Duration(t.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Minute
	}
	s.renewAt = time.Now().Add(life / 2)
}

// login signs username in. The server throttles logins per client address
// (429 with Retry-After); login waits and tries again, a few times.
func (c *apiClient) login(ctx context.Context, username, password string) (*session, error) {
	s := &session{c: c, username: username}
	for attempt := 0; ; attempt++ {
		var t tokens
		err := c.do(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": username, "password": password}, &t)
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusTooManyRequests && attempt < 5 {
			wait := max(se.retryAfter, time.Second)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sign in as %s: %w", username, err)
		}
		if t.AccessToken == "" {
			return nil, fmt.Errorf("sign in as %s: no access token in the answer", username)
		}
		s.set(t)
		return s, nil
	}
}

// token is the session's access token, refreshed first when it is past
// half its life (refreshing is not part of any measured operation).
func (s *session) token(ctx context.Context) (string, error) {
	if time.Now().Before(s.renewAt) {
		return s.access, nil
	}
	var t tokens
	if err := s.c.do(ctx, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": s.refresh}, &t); err != nil {
		return "", fmt.Errorf("refresh the session of %s: %w", s.username, err)
	}
	s.set(t)
	return s.access, nil
}

// call is do with the session's (fresh) token.
func (s *session) call(ctx context.Context, method, path string, body, out any) error {
	tok, err := s.token(ctx)
	if err != nil {
		return err
	}
	return s.c.do(ctx, method, path, tok, body, out)
}

// fixture is what setup creates: one session per worker, the team their
// cases belong to, and the key of a published postmortem.
type fixture struct {
	prefix     string
	team       string
	workers    []*session
	postmortem string // incident key, e.g. INC-2026-3
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// setup signs in as the admin, creates an investigator per worker and two
// leads (names unique to this run, so a server can be loaded many times),
// signs them in, and publishes one postmortem through the whole review:
// incident → RCA → draft → submit (investigator) → approve (second lead) →
// publish (first lead).
func setup(ctx context.Context, c *apiClient, adminUser, adminPassword string, workers int) (*fixture, error) {
	admin, err := c.login(ctx, adminUser, adminPassword)
	if err != nil {
		return nil, err
	}
	f := &fixture{prefix: "load-" + randomHex(3)}
	f.team = strings.ReplaceAll(f.prefix, "-", "_")
	password := "load-" + randomHex(12)
	create := func(name, role string) error {
		body := map[string]string{"username": name, "role": role, "team": f.team, "password": password,
			"display_name": "casefile load " + role}
		if err := admin.call(ctx, http.MethodPost, "/api/v1/users", body, nil); err != nil {
			return fmt.Errorf("create user %s: %w", name, err)
		}
		return nil
	}
	lead, lead2 := f.prefix+"-lead", f.prefix+"-lead2"
	for _, u := range []string{lead, lead2} {
		if err := create(u, "lead"); err != nil {
			return nil, err
		}
	}
	for i := range workers {
		name := fmt.Sprintf("%s-w%d", f.prefix, i+1)
		if err := create(name, "investigator"); err != nil {
			return nil, err
		}
		s, err := c.login(ctx, name, password)
		if err != nil {
			return nil, err
		}
		f.workers = append(f.workers, s)
	}
	leadS, err := c.login(ctx, lead, password)
	if err != nil {
		return nil, err
	}
	lead2S, err := c.login(ctx, lead2, password)
	if err != nil {
		return nil, err
	}
	f.postmortem, err = seedPostmortem(ctx, f.workers[0], lead2S, leadS)
	return f, err
}

func seedPostmortem(ctx context.Context, author, approver, publisher *session) (string, error) {
	var inc struct {
		Key string `json:"key"`
	}
	err := author.call(ctx, http.MethodPost, "/api/v1/incidents", map[string]any{
		"title": "Refund-scam wave missed by detection (load test seed)", "severity": "sev2", "status": "resolved",
		"started_at": "2026-11-02T08:00:00Z", "detected_at": "2026-11-03T10:00:00Z",
		"mitigated_at": "2026-11-03T12:00:00Z", "resolved_at": "2026-11-04T09:00:00Z",
		"impact": map[string]any{"text": "Buyers lost money to fake listings", "affected_actors": 240, "exposure_count": 18000, "regions": []string{"US"}},
	}, &inc)
	if err != nil {
		return "", fmt.Errorf("seed an incident: %w", err)
	}
	if inc.Key == "" {
		return "", errors.New("seed an incident: no key in the answer")
	}
	base := "/api/v1/incidents/" + url.PathEscape(inc.Key)
	steps := []struct {
		s            *session
		method, path string
		body         any
	}{
		{author, http.MethodPut, base + "/rca", map[string]any{
			"problem_statement": "A refund-scam wave ran for a day before anyone noticed",
			"root_causes": []map[string]string{
				{"description": "The scam classifier threshold was raised in a deploy without a holdout evaluation", "category": "product", "subcategory": "model_quality"},
				{"description": "The vendor queue had no SOP for bulk refund complaints", "category": "process", "subcategory": "sop_gap"}},
			"mitigation_gaps": []map[string]string{{"mitigation": "Manual review of reported listings", "why": "Reports were routed to a queue staffed only on weekdays"}},
		}},
		{author, http.MethodPut, base + "/postmortem", map[string]string{
			"summary": "Detection missed a refund-scam wave for 26 hours.", "lessons": "Evaluate thresholds before shipping.",
			"body": "## Details\n\nThe classifier threshold change shipped without a holdout evaluation.",
		}},
		{author, http.MethodPost, base + "/postmortem/submit", nil},
		{approver, http.MethodPost, base + "/postmortem/approve", nil},
		{publisher, http.MethodPost, base + "/postmortem/publish", nil},
	}
	for _, st := range steps {
		if err := st.s.call(ctx, st.method, st.path, st.body, nil); err != nil {
			return "", fmt.Errorf("seed a published postmortem: %w", err)
		}
	}
	return inc.Key, nil
}
