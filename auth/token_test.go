package auth

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIssuedTokenVerifies(t *testing.T) {
	ks := NewKeySet(newTestKey(t))
	raw, err := ks.issue("alice", "sess-1", t0)
	require.NoError(t, err)

	claims, err := ks.verify(raw, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, "alice", claims.Subject)
	assert.Equal(t, "sess-1", claims.SessionID)
	assert.Equal(t, Issuer, claims.Issuer)
	assert.Equal(t, jwt.ClaimStrings{Audience}, claims.Audience)
	assert.Equal(t, t0.Add(AccessTokenTTL).Unix(), claims.ExpiresAt.Unix())
	assert.NotEmpty(t, claims.ID)

	header := decodeSegment(t, raw, 0)
	assert.Equal(t, "EdDSA", header["alg"])
	assert.Equal(t, ks.kid, header["kid"])
}

func TestTokenSignedByPreviousKeyVerifiesAfterRotation(t *testing.T) {
	oldKey := newTestKey(t)
	old := NewKeySet(oldKey)
	raw, err := old.issue("alice", "sess-1", t0)
	require.NoError(t, err)

	rotated := NewKeySet(newTestKey(t), oldKey.Public().(ed25519.PublicKey))
	_, err = rotated.verify(raw, t0)
	assert.NoError(t, err, "a key listed as previous is trusted")

	dropped := NewKeySet(newTestKey(t))
	_, err = dropped.verify(raw, t0)
	assert.ErrorIs(t, err, errBadToken, "a key no longer listed is not trusted")
}

// A remembered token is not trusted for ever: the times in it are checked
// on every use, as on its first.
func TestRememberedTokenIsCheckedForTimeOnEveryUse(t *testing.T) {
	ks := NewKeySet(newTestKey(t))
	raw, err := ks.issue("alice", "sess-1", t0)
	require.NoError(t, err)
	_, err = ks.verify(raw, t0.Add(time.Minute))
	require.NoError(t, err)
	_, known := ks.verified.get(raw)
	require.True(t, known, "a verified token is remembered")

	tests := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"later_within_its_life", t0.Add(10 * time.Minute), true},
		{"within_leeway_after_expiry", t0.Add(AccessTokenTTL + clockLeeway - time.Second), true},
		{"expired_past_leeway", t0.Add(AccessTokenTTL + clockLeeway + time.Second), false},
		{"before_it_was_issued", t0.Add(-clockLeeway - time.Minute), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := ks.verify(raw, tt.at)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, "alice", claims.Subject)
				assert.Equal(t, "sess-1", claims.SessionID)
				return
			}
			assert.ErrorIs(t, err, errBadToken)
			assert.Nil(t, claims)
		})
	}
}

// Only tokens that verified are remembered, and the memory is bounded:
// when it is full, expired tokens go first, then everything.
func TestRememberedTokensAreBounded(t *testing.T) {
	ks := NewKeySet(newTestKey(t))
	bad := sign(t, jwt.SigningMethodEdDSA, newTestKey(t), ks.kid, baseClaims())
	_, err := ks.verify(bad, t0)
	require.ErrorIs(t, err, errBadToken)
	assert.Empty(t, ks.verified.m, "a token that failed is not remembered")

	v := newVerifiedTokens()
	expired := accessClaims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(t0)}}
	live := accessClaims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(t0.Add(time.Hour))}}
	for i := range maxVerifiedTokens {
		c := live
		if i%2 == 0 {
			c = expired
		}
		v.put(fmt.Sprint("token-", i), c, t0)
	}
	require.Len(t, v.m, maxVerifiedTokens)
	now := t0.Add(time.Minute)
	v.put("one-more", live, now)
	assert.Len(t, v.m, maxVerifiedTokens/2+1, "the expired half was dropped")
	_, ok := v.get("token-1")
	assert.True(t, ok, "a live token was kept")
	_, ok = v.get("token-0")
	assert.False(t, ok, "an expired token was dropped")

	for i := range maxVerifiedTokens {
		v.put(fmt.Sprint("live-", i), live, now)
	}
	assert.LessOrEqual(t, len(v.m), maxVerifiedTokens)
}

// baseClaims are the claims of a valid access token issued at t0.
func baseClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": Issuer,
		"sub": "alice",
		"aud": []string{Audience},
		"iat": t0.Unix(),
		"nbf": t0.Unix(),
		"exp": t0.Add(AccessTokenTTL).Unix(),
		"jti": "0123456789abcdef01234567",
		"sid": "sess-1",
	}
}

// sign builds a token with any method, key and kid ("" leaves kid out).
func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	raw, err := tok.SignedString(key)
	require.NoError(t, err)
	return raw
}

func without(c jwt.MapClaims, key string) jwt.MapClaims {
	delete(c, key)
	return c
}

func with(c jwt.MapClaims, key string, v any) jwt.MapClaims {
	c[key] = v
	return c
}

func decodeSegment(t *testing.T, raw string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// tamperPayload replaces the payload of raw, keeping header and signature.
func tamperPayload(t *testing.T, raw string, change func(map[string]any)) string {
	t.Helper()
	payload := decodeSegment(t, raw, 1)
	change(payload)
	b, err := json.Marshal(payload)
	require.NoError(t, err)
	parts := strings.Split(raw, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestVerifyRejectsForgedAndInvalidTokens(t *testing.T) {
	priv := newTestKey(t)
	ks := NewKeySet(priv)
	pub := priv.Public().(ed25519.PublicKey)
	other := newTestKey(t)
	otherKS := NewKeySet(other)

	genuine, err := ks.issue("alice", "sess-1", t0)
	require.NoError(t, err)
	// Verified once, the genuine token is remembered: every case below
	// runs with it known, so none can pass on the strength of it.
	_, err = ks.verify(genuine, t0)
	require.NoError(t, err)

	tests := []struct {
		name string
		raw  func(t *testing.T) string
		at   time.Time
	}{
		{"alg_none", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, ks.kid, baseClaims())
		}, t0},
		{"hs256_with_public_key_as_hmac_secret", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte(pub), ks.kid, baseClaims())
		}, t0},
		{"missing_exp", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, priv, ks.kid, without(baseClaims(), "exp"))
		}, t0},
		{"missing_iat", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, priv, ks.kid, without(baseClaims(), "iat"))
		}, t0},
		{"missing_sub", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, priv, ks.kid, without(baseClaims(), "sub"))
		}, t0},
		{"missing_sid", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, priv, ks.kid, without(baseClaims(), "sid"))
		}, t0},
		{"wrong_aud", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, priv, ks.kid, with(baseClaims(), "aud", []string{"someone-else"}))
		}, t0},
		{"missing_aud", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, priv, ks.kid, without(baseClaims(), "aud"))
		}, t0},
		{"wrong_iss", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, priv, ks.kid, with(baseClaims(), "iss", "evil"))
		}, t0},
		{"missing_iss", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, priv, ks.kid, without(baseClaims(), "iss"))
		}, t0},
		{"unknown_kid", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, priv, "00112233deadbeef", baseClaims())
		}, t0},
		{"missing_kid", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, priv, "", baseClaims())
		}, t0},
		{"other_key_with_same_kid", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, other, ks.kid, baseClaims())
		}, t0},
		{"other_key_with_its_own_kid", func(t *testing.T) string {
			raw, err := otherKS.issue("alice", "sess-1", t0)
			require.NoError(t, err)
			return raw
		}, t0},
		{"expired_past_leeway", func(*testing.T) string { return genuine }, t0.Add(AccessTokenTTL + clockLeeway + time.Second)},
		{"issued_in_the_future", func(*testing.T) string { return genuine }, t0.Add(-clockLeeway - time.Minute)},
		{"tampered_payload", func(t *testing.T) string {
			return tamperPayload(t, genuine, func(p map[string]any) { p["sub"] = "admin" })
		}, t0},
		{"tampered_expiry", func(t *testing.T) string {
			return tamperPayload(t, genuine, func(p map[string]any) { p["exp"] = t0.Add(24 * time.Hour).Unix() })
		}, t0},
		{"signature_stripped", func(*testing.T) string { return genuine[:strings.LastIndex(genuine, ".")+1] }, t0},
		{"empty", func(*testing.T) string { return "" }, t0},
		{"one_megabyte_of_dots", func(*testing.T) string { return strings.Repeat(".", 1<<20) }, t0},
		{"just_over_max_length", func(t *testing.T) string {
			// A correctly signed token padded past MaxTokenLen with a claim.
			return sign(t, jwt.SigningMethodEdDSA, priv, ks.kid, with(baseClaims(), "pad", strings.Repeat("x", MaxTokenLen)))
		}, t0},
	}
	for _, tt := range tests {
		t.Run("rejects_"+tt.name, func(t *testing.T) {
			claims, err := ks.verify(tt.raw(t), tt.at)
			assert.ErrorIs(t, err, errBadToken)
			assert.Nil(t, claims)
		})
	}

	// The attack tokens differ from a valid one only in what each case
	// names: the base claims, signed properly, verify.
	t.Run("control_base_claims_signed_properly_verify", func(t *testing.T) {
		_, err := ks.verify(sign(t, jwt.SigningMethodEdDSA, priv, ks.kid, baseClaims()), t0)
		assert.NoError(t, err)
	})
	t.Run("control_expiry_within_leeway_verifies", func(t *testing.T) {
		_, err := ks.verify(genuine, t0.Add(AccessTokenTTL+clockLeeway-time.Second))
		assert.NoError(t, err)
	})
}

func TestLoadOrCreateKeyCreatesPrivateFileThenLoadsSameKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "jwt.pem")

	created, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	require.Len(t, created, ed25519.PrivateKeySize)

	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	loaded, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	assert.True(t, created.Equal(loaded), "second call loads the key the first wrote")

	// A token signed with the created key verifies with the loaded one.
	raw, err := NewKeySet(created).issue("alice", "s", t0)
	require.NoError(t, err)
	_, err = NewKeySet(loaded).verify(raw, t0)
	assert.NoError(t, err)
}

func TestLoadOrCreateKeyRejectsFileThatIsNotAKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwt.pem")
	require.NoError(t, os.WriteFile(path, []byte("not a pem file"), 0o600))
	_, err := LoadOrCreateKey(path)
	assert.Error(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "not a pem file", string(b), "an unreadable key is never overwritten")
}
