package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token constants shared by issuer and verifier.
const (
	Issuer         = "casefile"
	Audience       = "casefile-api"
	AccessTokenTTL = 15 * time.Minute
	// MaxTokenLen bounds what the verifier will even look at: a real token is
	// a few hundred bytes, and refusing long input before parsing keeps a
	// megabyte of dots from costing anything.
	MaxTokenLen = 4096
	clockLeeway = 30 * time.Second
)

// KeySet signs access tokens with one Ed25519 key and verifies with any key
// whose kid it lists (the allow-list that makes key rotation possible).
// Its keys do not change once it is built (rotation is a restart with the
// old key listed as previous), which is what lets it remember verified
// tokens.
type KeySet struct {
	signing  ed25519.PrivateKey
	kid      string
	trusted  map[string]ed25519.PublicKey
	verified *verifiedTokens
}

// NewKeySet builds a key set that signs with priv and verifies with its
// public key plus any previous public keys.
func NewKeySet(priv ed25519.PrivateKey, previous ...ed25519.PublicKey) *KeySet {
	pub := priv.Public().(ed25519.PublicKey)
	ks := &KeySet{signing: priv, kid: KeyID(pub), trusted: map[string]ed25519.PublicKey{}, verified: newVerifiedTokens()}
	ks.trusted[ks.kid] = pub
	for _, p := range previous {
		ks.trusted[KeyID(p)] = p
	}
	return ks
}

// KeyID names a public key: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// LoadOrCreateKey reads a PKCS#8 PEM Ed25519 private key from path, or, if
// the file does not exist, generates one and writes it with mode 0600.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("jwt key: %w", err)
		}
		if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
			f.Close()
			return nil, err
		}
		return priv, f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("jwt key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("jwt key %s: no PEM block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("jwt key %s: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("jwt key %s: not an Ed25519 key", path)
	}
	return priv, nil
}

// accessClaims are the claims of an access token. The user's role is not in
// the token: it is read from the store on every request, so a role change or
// a disabled account takes effect at once.
type accessClaims struct {
	jwt.RegisteredClaims
	// SessionID is the refresh-token family the token belongs to; logging
	// out revokes it, and with it the access token.
	SessionID string `json:"sid"`
}

func (ks *KeySet) issue(username, sessionID string, now time.Time) (string, error) {
	var jti [12]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   username,
			Audience:  jwt.ClaimStrings{Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(AccessTokenTTL)),
			ID:        hex.EncodeToString(jti[:]),
		},
		SessionID: sessionID,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = ks.kid
	return t.SignedString(ks.signing)
}

var errBadToken = errors.New("invalid token")

// verify checks signature, algorithm, kid and the required claims.
//
// A token whose signature verified once is remembered (see
// verifiedTokens): its signature and its content cannot change, so only
// the claims that depend on the time (exp, nbf, iat) are checked again.
func (ks *KeySet) verify(raw string, now time.Time) (*accessClaims, error) {
	if len(raw) == 0 || len(raw) > MaxTokenLen {
		return nil, errBadToken
	}
	checks := []jwt.ParserOption{
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithLeeway(clockLeeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	}
	if claims, ok := ks.verified.get(raw); ok {
		if err := jwt.NewValidator(checks...).Validate(claims); err != nil {
			return nil, fmt.Errorf("%w: %v", errBadToken, err)
		}
		return claims, nil
	}
	parser := jwt.NewParser(append(checks, jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}))...)
	var claims accessClaims
	_, err := parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, ok := ks.trusted[kid]
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return key, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadToken, err)
	}
	// WithIssuedAt only rejects iat in the future; require that it is there.
	if claims.IssuedAt == nil || claims.Subject == "" || claims.SessionID == "" {
		return nil, fmt.Errorf("%w: missing iat, sub or sid", errBadToken)
	}
	ks.verified.put(raw, claims, now)
	return &claims, nil
}

// verifiedTokens remembers the claims of access tokens whose signature
// verified, by the token's exact text, until they expire. Verifying an
// Ed25519 signature (and decoding the token) was 60% of the server's CPU
// for an authenticated request that reads nothing (GET /me, measured),
// and a client sends the same token with every request for 15 minutes.
//
// Only a token that passed every check is kept, under its whole text, so
// a token that differs in any byte (forged, tampered, re-signed) is never
// found and is verified in full. Whether the session behind a token is
// still valid is not decided here: Service.Authenticate checks that on
// every request, cached or not.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]accessClaims
}

// maxVerifiedTokens bounds the memory of verifiedTokens (a token is a few
// hundred bytes): when full, expired tokens are dropped, and if that frees
// nothing, all are.
const maxVerifiedTokens = 10_000

func newVerifiedTokens() *verifiedTokens {
	return &verifiedTokens{m: map[string]accessClaims{}}
}

// get returns the claims of raw, if it verified before: a copy of the
// struct (its dates and audience are shared, and nobody writes to them).
func (v *verifiedTokens) get(raw string) (*accessClaims, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.m[raw]
	if !ok {
		return nil, false
	}
	return &c, true
}

// put remembers raw's claims. raw is copied: the caller's string may be a
// view of a request buffer that is reused.
func (v *verifiedTokens) put(raw string, c accessClaims, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= maxVerifiedTokens {
		for k, e := range v.m {
			if e.ExpiresAt == nil || !now.Before(e.ExpiresAt.Add(clockLeeway)) {
				delete(v.m, k)
			}
		}
		if len(v.m) >= maxVerifiedTokens {
			clear(v.m)
		}
	}
	v.m[strings.Clone(raw)] = c
}
