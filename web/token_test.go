package web_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
)

// forge signs claims with method and key, putting kid in the header unless
// it is empty.
func forge(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// TestTokenAttacks sends forged and broken access tokens to /me. Each
// forgery differs from a token the server would accept in one thing only:
// the control case shows that the untouched claims pass.
func TestTokenAttacks(t *testing.T) {
	h := newHarness(t)
	issuedTok := h.login(t, investigatorName)

	var issued jwt.MapClaims
	_, _, err := jwt.NewParser().ParseUnverified(issuedTok, &issued)
	require.NoError(t, err)
	sid, _ := issued["sid"].(string)
	require.NotEmpty(t, sid)

	pub := h.key.Public().(ed25519.PublicKey)
	kid := auth.KeyID(pub)
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	otherKid := auth.KeyID(otherKey.Public().(ed25519.PublicKey))

	now := h.clock.Now()
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": auth.Issuer,
			"sub": investigatorName,
			"aud": []string{auth.Audience},
			"iat": now.Unix(),
			"nbf": now.Unix(),
			"exp": now.Add(10 * time.Minute).Unix(),
			"jti": "forged",
			"sid": sid,
		}
		if change != nil {
			change(c)
		}
		return c
	}
	parts := strings.Split(issuedTok, ".")
	require.Len(t, parts, 3)
	adminPayload := base64.RawURLEncoding.EncodeToString([]byte(mustJSON(t, claims(func(c jwt.MapClaims) { c["sub"] = adminName }))))

	control := forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(nil))
	require.Equal(t, http.StatusOK, h.get(t, "/api/v1/me", control).StatusCode, "the forging helper makes tokens the server accepts")

	cases := []struct {
		name   string
		header string
	}{
		{"alg_none", "Bearer " + forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims(nil))},
		{"hs256_signed_with_the_public_key", "Bearer " + forge(t, jwt.SigningMethodHS256, []byte(pub), kid, claims(nil))},
		{"signature_stripped", "Bearer " + parts[0] + "." + parts[1] + "."},
		{"payload_swapped_for_another_user", "Bearer " + parts[0] + "." + adminPayload + "." + parts[2]},
		{"missing_exp", "Bearer " + forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { delete(c, "exp") }))},
		{"missing_iat", "Bearer " + forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { delete(c, "iat") }))},
		{"missing_sid", "Bearer " + forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { delete(c, "sid") }))},
		{"wrong_aud", "Bearer " + forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { c["aud"] = []string{"some-other-api"} }))},
		{"wrong_iss", "Bearer " + forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { c["iss"] = "evil" }))},
		{"unknown_kid_and_untrusted_key", "Bearer " + forge(t, jwt.SigningMethodEdDSA, otherKey, otherKid, claims(nil))},
		{"unknown_kid_with_the_real_key", "Bearer " + forge(t, jwt.SigningMethodEdDSA, h.key, "0123456789abcdef", claims(nil))},
		{"missing_kid", "Bearer " + forge(t, jwt.SigningMethodEdDSA, h.key, "", claims(nil))},
		{"trusted_kid_but_untrusted_key", "Bearer " + forge(t, jwt.SigningMethodEdDSA, otherKey, kid, claims(nil))},
		{"expired", "Bearer " + forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) {
			c["iat"] = now.Add(-time.Hour).Unix()
			c["nbf"] = now.Add(-time.Hour).Unix()
			c["exp"] = now.Add(-time.Minute).Unix()
		}))},
		{"issued_in_the_future", "Bearer " + forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) {
			c["iat"] = now.Add(time.Hour).Unix()
			c["nbf"] = now.Add(time.Hour).Unix()
		}))},
		{"unknown_session", "Bearer " + forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { c["sid"] = "feedfacefeedface" }))},
		{"unknown_user", "Bearer " + forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { c["sub"] = "ghost" }))},
		{"session_of_another_user", "Bearer " + forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { c["sub"] = adminName }))},
		{"garbage", "Bearer not-a-token"},
		{"garbage_with_dots", "Bearer a.b.c"},
		{"bearer_with_empty_token", "Bearer "},
		{"bearer_alone", "Bearer"},
		{"wrong_scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte(investigatorName+":"+password))},
		{"token_without_scheme", issuedTok},
		{"no_header", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.header != "" {
				hdr["Authorization"] = tc.header
			}
			res := h.do(t, req{method: http.MethodGet, path: "/api/v1/me", header: hdr})
			requireProblem(t, res, http.StatusUnauthorized, "unauthenticated")
			assert.True(t, strings.HasPrefix(res.Header.Get("WWW-Authenticate"), `Bearer realm="casefile"`), "WWW-Authenticate: %q", res.Header.Get("WWW-Authenticate"))
			assert.NotContains(t, string(res.body), investigatorName)
		})
	}

	t.Run("scheme_is_case_insensitive", func(t *testing.T) {
		res := h.do(t, req{method: http.MethodGet, path: "/api/v1/me", header: map[string]string{"Authorization": "bearer " + issuedTok}})
		assert.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
	})

	t.Run("8KB_of_dots_is_refused_before_the_token_parser", func(t *testing.T) {
		start := time.Now()
		res := h.do(t, req{method: http.MethodGet, path: "/api/v1/me", header: map[string]string{"Authorization": "Bearer " + strings.Repeat(".", 8<<10)}})
		elapsed := time.Since(start)
		p := requireProblem(t, res, http.StatusUnauthorized, "unauthenticated")
		// The length check in front of the verifier answers with the
		// "send a token" message; the verifier would say "invalid".
		assert.Contains(t, p.Detail, "send an access token")
		t.Logf("refused in %s", elapsed) // measured, not asserted: tests never fail on timing
	})

	t.Run("access_token_expires_after_its_ttl", func(t *testing.T) {
		tok := h.login(t, leadName)
		require.Equal(t, http.StatusOK, h.get(t, "/api/v1/me", tok).StatusCode)
		h.clock.Advance(auth.AccessTokenTTL + time.Minute)
		requireProblem(t, h.get(t, "/api/v1/me", tok), http.StatusUnauthorized, "unauthenticated")
	})
}

func TestOneMegabyteAuthorizationHeaderIsRefusedByTheTransport(t *testing.T) {
	// app.Test cannot carry this: fasthttp answers, then ServeConn returns
	// the read error, which app.Test reports instead of the response. A
	// real listener shows what a client gets.
	h := newHarness(t)
	addr := h.listen(t)
	raw := "GET /api/v1/me HTTP/1.1\r\nHost: casefile.test\r\nAuthorization: Bearer " + strings.Repeat(".", 1<<20) + "\r\n\r\n"
	res := rawExchange(t, addr, []byte(raw))
	p := requireProblem(t, res, http.StatusRequestHeaderFieldsTooLarge, "payload-too-large")
	assert.NotContains(t, string(res.body), "....", "the header is not echoed")
	assert.Len(t, p.RequestID, 24)
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	assert.True(t, res.Close, "the server closes the connection")

	// The server is still serving.
	ok := rawExchange(t, addr, []byte("GET /healthz HTTP/1.1\r\nHost: casefile.test\r\nConnection: close\r\n\r\n"))
	assert.Equal(t, http.StatusOK, ok.StatusCode)
}
