package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientIP runs clientIP behind app.Test, whose peer address is
// 0.0.0.0 (fasthttp reports the test connection's RemoteAddr).
func TestClientIP(t *testing.T) {
	peerTrusted := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32"), netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		name    string
		trusted []netip.Prefix
		xff     string
		realIP  string
		want    string
	}{
		{"no_proxies_trusted_ignores_xff", nil, "203.0.113.1", "", "0.0.0.0"},
		{"untrusted_peer_ignores_xff", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "203.0.113.1", "", "0.0.0.0"},
		{"trusted_peer_without_xff_is_the_client", peerTrusted, "", "", "0.0.0.0"},
		{"x_real_ip_is_never_believed", peerTrusted, "", "203.0.113.1", "0.0.0.0"},
		{"trusted_peer_forwards_one_hop", peerTrusted, "203.0.113.1", "", "203.0.113.1"},
		{"rightmost_untrusted_hop_wins_over_client_written_ones", peerTrusted, "192.0.2.99, 203.0.113.1", "", "203.0.113.1"},
		{"trusted_hops_are_skipped", peerTrusted, "192.0.2.99, 203.0.113.1, 10.1.2.3, 10.4.5.6", "", "203.0.113.1"},
		{"all_hops_trusted_falls_back_to_the_peer", peerTrusted, "10.1.2.3, 10.4.5.6", "", "0.0.0.0"},
		{"garbage_hop_stops_the_walk", peerTrusted, "203.0.113.1, not-an-ip", "", "0.0.0.0"},
		{"garbage_left_of_the_client_is_ignored", peerTrusted, "not-an-ip, 203.0.113.1", "", "203.0.113.1"},
		{"spaces_are_trimmed", peerTrusted, "  203.0.113.1  ", "", "203.0.113.1"},
		{"ipv4_mapped_ipv6_is_unmapped", peerTrusted, "::ffff:203.0.113.1", "", "203.0.113.1"},
		{"ipv6_client", peerTrusted, "2001:db8::1", "", "2001:db8::1"},
		{"ipv4_mapped_trusted_hop_is_skipped", peerTrusted, "203.0.113.1, ::ffff:10.0.0.1", "", "203.0.113.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := fiber.New()
			app.Get("/", func(c *fiber.Ctx) error { return c.SendString(clientIP(c, tc.trusted)) })
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.realIP != "" {
				r.Header.Set("X-Real-IP", tc.realIP)
			}
			res, err := app.Test(r, -1)
			require.NoError(t, err)
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(b))
		})
	}
}

func TestBearerToken(t *testing.T) {
	cases := []struct {
		header string
		token  string
		ok     bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER abc", "abc", true},
		{"Bearer  abc ", "abc", true},
		{"Bearer ", "", false},
		{"Bearer", "", false},
		{"", "", false},
		{"Basic abc", "", false},
		{"Bearerabc", "", false},
		{"Bearer " + strings.Repeat("a", 4096), strings.Repeat("a", 4096), true},
		{"Bearer " + strings.Repeat("a", 4097), "", false},
	}
	for _, tc := range cases {
		token, ok := bearerToken(tc.header)
		assert.Equal(t, tc.ok, ok, "%.20q", tc.header)
		assert.Equal(t, tc.token, token, "%.20q", tc.header)
	}
}
