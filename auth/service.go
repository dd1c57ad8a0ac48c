// Package auth owns who people are and what they may do: users and their
// passwords, access and refresh tokens, the permission check Can, and the
// hash-chained audit log.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
)

// Collections owned by this package.
const (
	usersCollection    = "users"
	sessionsCollection = "sessions"
	refreshCollection  = "refresh_tokens"
)

// Defaults for sessions and login throttling.
const (
	RefreshTokenTTL = 7 * 24 * time.Hour
	SessionMaxAge   = 30 * 24 * time.Hour

	// A username is locked after this many failed logins in the window...
	MaxUserFailures = 5
	UserFailWindow  = 15 * time.Minute
	// ...and one client address may try this many logins per window.
	MaxAddrAttempts = 30
	AddrWindow      = time.Minute
)

// Config configures a Service.
type Config struct {
	DB   *store.DB
	Keys *KeySet
	// Now is the clock; tests pass a fake one.
	Now func() time.Time
	// Hash sets password hashing cost; zero means DefaultHashParams.
	Hash HashParams
	// Audit receives login events; required.
	Audit *Audit
}

// Service signs people in and manages users.
type Service struct {
	db    *store.DB
	keys  *KeySet
	now   func() time.Time
	hash  HashParams
	audit *Audit

	userFails *limiter
	addrTries *limiter
	// principals caches Authenticate's store reads (see principalCache).
	principals *principalCache
	// dummyHash is checked when a username does not exist, so that an
	// unknown user costs the same time as a wrong password.
	dummyHash string
}

// NewService returns a Service; call Init before use.
func NewService(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Keys == nil || cfg.Audit == nil {
		return nil, fmt.Errorf("auth: DB, Keys and Audit are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Hash == (HashParams{}) {
		cfg.Hash = DefaultHashParams
	}
	dummy, err := hashPassword("not a real password, only for timing", cfg.Hash)
	if err != nil {
		return nil, err
	}
	ttl := principalTTLShared
	if cfg.DB.Embedded() {
		ttl = principalTTLEmbedded
	}
	return &Service{
		db: cfg.DB, keys: cfg.Keys, now: cfg.Now, hash: cfg.Hash, audit: cfg.Audit,
		userFails:  newLimiter(MaxUserFailures, UserFailWindow),
		addrTries:  newLimiter(MaxAddrAttempts, AddrWindow),
		dummyHash:  dummy,
		principals: newPrincipalCache(ttl),
	}, nil
}

// Init creates the collections this package uses.
func (s *Service) Init(ctx context.Context) error {
	for _, c := range []string{usersCollection, sessionsCollection, refreshCollection} {
		if err := s.db.EnsureCollection(ctx, c); err != nil {
			return err
		}
	}
	return s.audit.Init(ctx)
}

// Meta is what the transport knows about a request, for the audit log.
type Meta struct {
	IP        string
	RequestID string
}

// Tokens is the answer to a login or refresh.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// session is one sign-in: the family of refresh tokens it rotates through.
type session struct {
	ID        string     `bson:"_id"`
	Username  string     `bson:"username"`
	CreatedAt time.Time  `bson:"created_at"`
	ExpiresAt time.Time  `bson:"expires_at"`
	RevokedAt *time.Time `bson:"revoked_at,omitempty"`
	Reason    string     `bson:"revoked_reason,omitempty"`
}

// refreshToken is stored by the SHA-256 of its value: the value itself is
// 256 random bits, so a fast hash is enough and a database dump reveals no
// usable token.
type refreshToken struct {
	ID        string     `bson:"_id"`
	SessionID string     `bson:"session_id"`
	Username  string     `bson:"username"`
	ExpiresAt time.Time  `bson:"expires_at"`
	UsedAt    *time.Time `bson:"used_at,omitempty"`
	Version   int64      `bson:"version"`
}

var errLogin = errs.E(errs.Unauthenticated, "wrong username or password")

// Login checks a username and password and starts a session. Unknown users
// and wrong passwords get the same error after the same work.
func (s *Service) Login(ctx context.Context, username, password string, m Meta) (Tokens, error) {
	now := s.now()
	ev := AuditEvent{User: username, Action: "auth.login", Entity: Entity{Type: "user", ID: username}, IP: m.IP, RequestID: m.RequestID}

	if blocked, wait := s.addrTries.blocked(m.IP, now); blocked {
		return Tokens{}, s.throttled(ctx, ev, "address", wait)
	}
	s.addrTries.add(m.IP, now)
	if blocked, wait := s.userFails.blocked(username, now); blocked {
		return Tokens{}, s.throttled(ctx, ev, "username", wait)
	}

	var u User
	err := s.db.FindByID(ctx, usersCollection, username, &u)
	hash := u.PasswordHash
	switch {
	case errs.Is(err, errs.NotFound) || len(password) > MaxPasswordLen:
		hash = s.dummyHash
	case err != nil:
		return Tokens{}, err
	}
	ok, herr := checkPassword(password, hash)
	if err != nil || herr != nil || !ok || u.Disabled || len(password) > MaxPasswordLen {
		s.userFails.add(username, now)
		ev.Outcome = OutcomeFailure
		ev.Role = u.Role
		if u.Disabled {
			ev.Detail = map[string]string{"reason": "disabled"}
		}
		if aerr := s.audit.Record(ctx, ev); aerr != nil {
			return Tokens{}, aerr
		}
		return Tokens{}, errLogin
	}
	s.userFails.reset(username)

	sess := session{ID: randomID(16), Username: u.Username, CreatedAt: now, ExpiresAt: now.Add(SessionMaxAge)}
	if err := s.db.Insert(ctx, sessionsCollection, sess); err != nil {
		return Tokens{}, err
	}
	tokens, err := s.issue(ctx, sess, now)
	if err != nil {
		return Tokens{}, err
	}
	ev.Outcome, ev.Role = OutcomeSuccess, u.Role
	ev.Detail = map[string]string{"session": sess.ID}
	return tokens, s.audit.Record(ctx, ev)
}

func (s *Service) throttled(ctx context.Context, ev AuditEvent, by string, wait time.Duration) error {
	ev.Outcome = OutcomeThrottled
	ev.Detail = map[string]string{"by": by}
	if err := s.audit.Record(ctx, ev); err != nil {
		return err
	}
	if wait < time.Second {
		wait = time.Second
	}
	return &errs.Error{Code: errs.RateLimited, Message: "too many login attempts; try again later", RetryAfter: wait}
}

// issue mints an access token and a new refresh token in sess.
func (s *Service) issue(ctx context.Context, sess session, now time.Time) (Tokens, error) {
	access, err := s.keys.issue(sess.Username, sess.ID, now)
	if err != nil {
		return Tokens{}, err
	}
	raw := randomToken()
	rt := refreshToken{ID: hashToken(raw), SessionID: sess.ID, Username: sess.Username, ExpiresAt: minTime(now.Add(RefreshTokenTTL), sess.ExpiresAt), Version: 1}
	if err := s.db.Insert(ctx, refreshCollection, rt); err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, RefreshToken: raw, TokenType: "Bearer", ExpiresIn: int(AccessTokenTTL.Seconds())}, nil
}

var errRefresh = errs.E(errs.Unauthenticated, "the refresh token is invalid or expired; sign in again")

// Refresh spends a refresh token for a new pair. A token is good once: a
// second use means it was stolen or replayed, and the whole session (every
// token of the family, and its access tokens) is revoked.
func (s *Service) Refresh(ctx context.Context, raw string, m Meta) (Tokens, error) {
	now := s.now()
	if len(raw) == 0 || len(raw) > 128 {
		return Tokens{}, errRefresh
	}
	var rt refreshToken
	if err := s.db.FindByID(ctx, refreshCollection, hashToken(raw), &rt); err != nil {
		if errs.Is(err, errs.NotFound) {
			return Tokens{}, errRefresh
		}
		return Tokens{}, err
	}
	ev := AuditEvent{User: rt.Username, Action: "auth.refresh", Entity: Entity{Type: "session", ID: rt.SessionID}, IP: m.IP, RequestID: m.RequestID}
	var sess session
	if err := s.db.FindByID(ctx, sessionsCollection, rt.SessionID, &sess); err != nil {
		if errs.Is(err, errs.NotFound) {
			return Tokens{}, errRefresh
		}
		return Tokens{}, err
	}
	if sess.RevokedAt != nil || !now.Before(rt.ExpiresAt) || !now.Before(sess.ExpiresAt) {
		return Tokens{}, errRefresh
	}
	if rt.UsedAt != nil {
		return Tokens{}, s.revokeForReuse(ctx, ev, sess.ID)
	}
	spent := rt
	spent.UsedAt, spent.Version = &now, rt.Version+1
	if err := s.db.ReplaceVersioned(ctx, refreshCollection, rt.ID, rt.Version, spent); err != nil {
		if errs.Is(err, errs.PreconditionFailed) {
			// Someone spent it between our read and write: a race of two
			// holders of one token is reuse too.
			return Tokens{}, s.revokeForReuse(ctx, ev, sess.ID)
		}
		return Tokens{}, err
	}
	u, err := s.activeUser(ctx, rt.Username)
	if errs.Is(err, errs.Unauthenticated) {
		return Tokens{}, errRefresh
	}
	if err != nil {
		return Tokens{}, err
	}
	if sess.CreatedAt.Before(u.SessionsValidFrom) {
		return Tokens{}, errRefresh
	}
	tokens, err := s.issue(ctx, sess, now)
	if err != nil {
		return Tokens{}, err
	}
	ev.Role, ev.Outcome = u.Role, OutcomeSuccess
	return tokens, s.audit.Record(ctx, ev)
}

func (s *Service) revokeForReuse(ctx context.Context, ev AuditEvent, sessionID string) error {
	if err := s.revoke(ctx, sessionID, "refresh token reused"); err != nil {
		return err
	}
	ev.Outcome = OutcomeDenied
	ev.Detail = map[string]string{"reason": "refresh token reused; session revoked"}
	if err := s.audit.Record(ctx, ev); err != nil {
		return err
	}
	return errRefresh
}

func (s *Service) revoke(ctx context.Context, sessionID, reason string) error {
	now := s.now()
	_, err := s.db.Update(ctx, sessionsCollection, sessionID, setFields("revoked_at", now, "revoked_reason", reason))
	s.principals.invalidate()
	return err
}

// Logout ends the caller's session: its refresh tokens and access tokens
// stop working.
func (s *Service) Logout(ctx context.Context, p *Principal, m Meta) error {
	if err := s.revoke(ctx, p.SessionID, "logout"); err != nil {
		return err
	}
	return s.audit.Record(ctx, AuditEvent{User: p.User.Username, Role: p.User.Role, Action: "auth.logout",
		Entity: Entity{Type: "session", ID: p.SessionID}, IP: m.IP, RequestID: m.RequestID, Outcome: OutcomeSuccess})
}

// How long Authenticate trusts a cached user and session: on the embedded
// store this process sees every change (the cache is emptied by them), so
// the bound only limits memory; on a shared MongoDB it is how long another
// instance's logout or disable may take to reach this one.
const (
	principalTTLEmbedded = time.Minute
	principalTTLShared   = time.Second
)

// Principal is an authenticated caller.
type Principal struct {
	User      User
	SessionID string
}

var errToken = errs.E(errs.Unauthenticated, "missing, invalid or expired access token")

// Authenticate checks an access token and returns who holds it. The user
// and session are checked on every call (through principalCache, which
// every local write to them empties), so disabling a user or logging out
// takes effect at once.
func (s *Service) Authenticate(ctx context.Context, raw string) (*Principal, error) {
	claims, err := s.keys.verify(raw, s.now())
	if err != nil {
		return nil, errToken
	}
	cached, gen := s.principals.get(claims.SessionID, claims.Subject)
	if cached != nil {
		return cached, nil
	}
	u, err := s.activeUser(ctx, claims.Subject)
	if err != nil {
		return nil, err
	}
	var sess session
	if err := s.db.FindByID(ctx, sessionsCollection, claims.SessionID, &sess); err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errToken
		}
		return nil, err
	}
	if sess.RevokedAt != nil || sess.Username != u.Username || sess.CreatedAt.Before(u.SessionsValidFrom) {
		return nil, errToken
	}
	p := Principal{User: u, SessionID: sess.ID}
	s.principals.put(gen, claims.Subject, p)
	return &p, nil
}

func (s *Service) activeUser(ctx context.Context, username string) (User, error) {
	var u User
	if err := s.db.FindByID(ctx, usersCollection, username, &u); err != nil {
		if errs.Is(err, errs.NotFound) {
			return User{}, errToken
		}
		return User{}, err
	}
	if u.Disabled {
		return User{}, errToken
	}
	return u, nil
}

func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
