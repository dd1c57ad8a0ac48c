package web_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRefusalsReachAnOrdinaryClient: a request the transport refuses
// before reading it all (a URL beyond the header buffer, a body beyond the
// limit) still gets its problem document through Go's http.Client, which
// writes the whole request before it reads. Without LingeringListener the
// server's close resets the connection under the client's write and the
// client sees "connection reset by peer" in most tries; each case is tried
// ten times on fresh connections so one lucky try cannot pass it.
func TestRefusalsReachAnOrdinaryClient(t *testing.T) {
	// The transport's body limit is the attachment limit plus framing;
	// a small one keeps the refused body small.
	h := newHarness(t, harnessOptions{maxAttachment: 1 << 20})
	addr := h.listen(t)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(client.CloseIdleConnections)

	cases := []struct {
		name   string
		req    func() (*http.Request, error)
		status int
	}{
		{"one_mebibyte_url", func() (*http.Request, error) {
			return http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/search?q="+strings.Repeat("x", 1<<20), nil)
		}, http.StatusRequestHeaderFieldsTooLarge},
		{"four_mebibyte_body", func() (*http.Request, error) {
			r, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/auth/login", bytes.NewReader(bytes.Repeat([]byte(" "), 4<<20)))
			if err == nil {
				r.Header.Set("Content-Type", "application/json")
			}
			return r, err
		}, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 10 {
				r, err := tc.req()
				require.NoError(t, err)
				res, err := client.Do(r)
				require.NoError(t, err)
				body, err := io.ReadAll(res.Body)
				res.Body.Close()
				require.NoError(t, err)
				requireProblem(t, response{Response: res, body: body}, tc.status, "payload-too-large")
			}
		})
	}
}
