package webhook

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientRefusesInwardAddressesAtDialTime: the address check runs on
// the address a name resolves to, so a URL that passed registration (a
// name, not a literal address) still cannot reach loopback; with the
// insecure setting it can.
func TestClientRefusesInwardAddressesAtDialTime(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) // resolved by the system, not parsed

	_, err := newClient(urlPolicy{}).Get(byName)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refused")
	assert.Zero(t, hits.Load())

	res, err := newClient(urlPolicy{allowInsecure: true}).Get(byName)
	require.NoError(t, err)
	res.Body.Close()
	assert.EqualValues(t, 1, hits.Load())
}

// TestClientDoesNotFollowRedirects: a 3xx is the answer, not a hop to
// wherever it points (which could be inward).
func TestClientDoesNotFollowRedirects(t *testing.T) {
	var followed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/inside", http.StatusFound) })
	mux.HandleFunc("/inside", func(http.ResponseWriter, *http.Request) { followed.Store(true) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	res, err := newClient(urlPolicy{allowInsecure: true}).Post(srv.URL+"/hook", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusFound, res.StatusCode)
	assert.False(t, followed.Load())
}

func TestBlockedAddresses(t *testing.T) {
	p := urlPolicy{}
	for addr, blocked := range map[string]bool{
		"127.0.0.1:443": true, "[::1]:443": true, "10.0.0.8:80": true, "172.16.5.4:443": true, "192.168.0.1:443": true,
		"169.254.169.254:80": true, "[fe80::1]:443": true, "[fd00::1]:443": true, "100.64.0.1:443": true, "0.0.0.0:443": true,
		"[::ffff:127.0.0.1]:443": true, "224.0.0.1:443": true, "[64:ff9b::a00:1]:443": true, "[2002:7f00:1::1]:443": true,
		"[64:ff9b::5db8:d70e]:443": false, "[2002:5db8:d70e::1]:443": false,
		"93.184.215.14:443": false, "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443": false, "100.128.0.1:443": false,
	} {
		err := p.dialControl("tcp", addr, nil)
		assert.Equal(t, blocked, err != nil, "%s: %v", addr, err)
	}
}
