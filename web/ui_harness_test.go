package web_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// browser is a cookie-keeping client of the UI over the harness's app: it
// follows no redirects (tests look at them) and sends forms with the CSRF
// token of the last page it read, as a browser posting that page's form.
type browser struct {
	h       *harness
	cookies map[string]string
	csrf    string
}

// newBrowser is a browser with no cookies.
func (h *harness) newBrowser() *browser { return &browser{h: h, cookies: map[string]string{}} }

// uiLogin signs username in through the login form.
func (h *harness) uiLogin(t *testing.T, username string) *browser {
	t.Helper()
	b := h.newBrowser()
	b.get(t, "/login")
	res := b.post(t, "/login", url.Values{"username": {username}, "password": {password}, "next": {"/settings"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "login %s: %s", username, res.body)
	return b
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`)

// send makes r with the browser's cookies and keeps what the answer sets.
func (b *browser) send(t *testing.T, r *http.Request) response {
	t.Helper()
	for k, v := range b.cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	res, err := b.h.app.Test(r, -1)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	if m := csrfInput.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return response{Response: res, body: body}
}

// get reads a page.
func (b *browser) get(t *testing.T, path string) response {
	t.Helper()
	return b.send(t, httptest.NewRequest(http.MethodGet, path, nil))
}

// post sends a form, with the last page's CSRF token unless it has one.
func (b *browser) post(t *testing.T, path string, form url.Values) response {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("_csrf") {
		form.Set("_csrf", b.csrf)
	}
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://example.com") // httptest's host
	return b.send(t, r)
}

// postFile sends a multipart form with one file field.
func (b *browser) postFile(t *testing.T, path string, form url.Values, field, filename string, content []byte) response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if !form.Has("_csrf") {
		form.Set("_csrf", b.csrf)
	}
	for k, vs := range form {
		for _, v := range vs {
			require.NoError(t, mw.WriteField(k, v))
		}
	}
	fw, err := mw.CreateFormFile(field, filename)
	require.NoError(t, err)
	_, err = fw.Write(content)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	r := httptest.NewRequest(http.MethodPost, path, &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Origin", "http://example.com")
	return b.send(t, r)
}
