package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/syncbuf"
)

// server is a casefile started through run, as a user would start it.
type server struct {
	base string
	out  *syncbuf.Buffer
	stop context.CancelFunc
	done chan error
}

// startServer runs `casefile serve` on a free port with dataDir and waits
// for its "listening" log line.
func startServer(t *testing.T, dataDir string, env map[string]string) *server {
	t.Helper()
	return startRun(t, []string{"casefile", "serve", "--addr", "127.0.0.1:0", "--data", dataDir}, func(k string) string { return env[k] })
}

// startRun runs the command line args until it logs "listening" (serve,
// demo), and stops it when the test ends.
func startRun(t *testing.T, args []string, getenv func(string) string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{out: &syncbuf.Buffer{}, stop: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, args, getenv, pw)
		pw.CloseWithError(io.EOF)
		s.done <- err
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			_, _ = s.out.Write([]byte(line + "\n"))
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-s.done:
		t.Fatalf("%s returned before listening: %v\n%s", args[1], err, s.out.String())
	case <-time.After(5 * time.Minute): // a hang guard, not a timing check
		t.Fatalf("%s did not start\n%s", args[1], s.out.String())
	}
	t.Cleanup(func() { s.shutdown(t) })
	return s
}

// waitReady polls /readyz: the search index catches up in the background
// after the server starts listening.
func (s *server) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, body := s.call(t, "GET", "/readyz", "", nil)
		if resp.StatusCode == http.StatusOK {
			return
		}
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%v", body)
		require.True(t, time.Now().Before(deadline), "not ready after 60 s: %v", body)
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) shutdown(t *testing.T) {
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		assert.NoError(t, err, "run returns cleanly on shutdown")
	case <-time.After(2 * time.Minute):
		t.Error("server did not shut down")
	}
}

func (s *server) call(t *testing.T, method, path, token string, body any) (*http.Response, map[string]any) {
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
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp, out
}

func (s *server) login(t *testing.T, user, password string) string {
	t.Helper()
	resp, body := s.call(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": password})
	require.Equal(t, http.StatusOK, resp.StatusCode, "login %s: %v", user, body)
	tok, _ := body["access_token"].(string)
	require.NotEmpty(t, tok)
	return tok
}

// TestNewcomerTour is the README's curl tour: log in as admin, create an
// investigator, log in as them, and be refused /users with a 403 problem.
func TestNewcomerTour(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, map[string]string{"CASEFILE_ADMIN_PASSWORD": "admin-password-123"})

	resp, _ := s.call(t, "GET", "/healthz", "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	s.waitReady(t)

	admin := s.login(t, "admin", "admin-password-123")
	resp, me := s.call(t, "GET", "/api/v1/me", admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "admin", me["role"])

	resp, body := s.call(t, "POST", "/api/v1/users", admin, map[string]string{
		"username": "ivy", "role": "investigator", "team": "fraud", "password": "correct horse battery",
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", body)

	ivy := s.login(t, "ivy", "correct horse battery")
	resp, body = s.call(t, "GET", "/api/v1/users", ivy, nil)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "https://casefile.dev/problems/forbidden", body["type"])

	info, err := os.Stat(dir + "/jwt_ed25519.pem")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the signing key is private")
}

// TestFirstStartPrintsGeneratedPasswordOnce checks the generated admin
// password works, is printed on the first start only, and that data and
// keys survive a restart (tokens from before the restart stay valid).
func TestFirstStartPrintsGeneratedPasswordOnce(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, nil)
	out := s.out.String()
	i := strings.Index(out, "with password ")
	require.GreaterOrEqual(t, i, 0, "first start prints the admin password:\n%s", out)
	pw := strings.Fields(out[i+len("with password "):])[0]
	token := s.login(t, "admin", pw)
	s.shutdown(t)

	s2 := startServer(t, dir, nil)
	assert.NotContains(t, s2.out.String(), "with password", "the password is printed only once")
	resp, _ := s2.call(t, "GET", "/api/v1/me", token, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the key pair persists across restarts")
	s2.login(t, "admin", pw)
}

func TestUserAddThenLogin(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"CASEFILE_USER_PASSWORD": "lead-password-123", "CASEFILE_ADMIN_PASSWORD": "admin-password-123"}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	err := run(context.Background(), []string{"casefile", "user", "add", "--data", dir, "--username", "lena", "--role", "lead", "--team", "fraud"}, getenv, &out)
	require.NoError(t, err)
	assert.Contains(t, out.String(), "created user lena (lead)")

	err = run(context.Background(), []string{"casefile", "user", "add", "--data", dir, "--username", "lena", "--role", "lead"}, getenv, io.Discard)
	assert.ErrorContains(t, err, "already exists")
	err = run(context.Background(), []string{"casefile", "user", "add", "--data", dir, "--username", "x", "--role", "wizard"}, getenv, io.Discard)
	assert.ErrorContains(t, err, "role")

	s := startServer(t, dir, env)
	tok := s.login(t, "lena", "lead-password-123")
	resp, me := s.call(t, "GET", "/api/v1/me", tok, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "lead", me["role"])
	s.login(t, "admin", "admin-password-123") // no admin existed yet, so serve created one
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"casefile", "version"}, func(string) string { return "" }, &out))
	assert.Equal(t, "casefile dev\n", out.String())
	assert.Error(t, run(context.Background(), []string{"casefile", "frobnicate"}, func(string) string { return "" }, io.Discard))
}
