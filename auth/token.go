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
type KeySet struct {
	signing ed25519.PrivateKey
	kid     string
	trusted map[string]ed25519.PublicKey
}

// NewKeySet builds a key set that signs with priv and verifies with its
// public key plus any previous public keys.
func NewKeySet(priv ed25519.PrivateKey, previous ...ed25519.PublicKey) *KeySet {
	pub := priv.Public().(ed25519.PublicKey)
	ks := &KeySet{signing: priv, kid: KeyID(pub), trusted: map[string]ed25519.PublicKey{}}
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
func (ks *KeySet) verify(raw string, now time.Time) (*accessClaims, error) {
	if len(raw) == 0 || len(raw) > MaxTokenLen {
		return nil, errBadToken
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithLeeway(clockLeeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
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
	return &claims, nil
}
