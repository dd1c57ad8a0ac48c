package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// Keys of values kept in fiber.Ctx locals; only the typed helpers below
// read or write them.
type localKey int

const (
	keyRequestID localKey = iota
	keyPrincipal
)

var inboundRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// withRequestID keeps a well-formed X-Request-ID from the caller (so a
// proxy's id follows the request) or makes one, and echoes it back.
func withRequestID(c *fiber.Ctx) error {
	assignRequestID(c)
	return c.Next()
}

func assignRequestID(c *fiber.Ctx) {
	id := c.Get(fiber.HeaderXRequestID)
	if !inboundRequestID.MatchString(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Locals(keyRequestID, id)
	c.Set(fiber.HeaderXRequestID, id)
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(keyRequestID).(string)
	return id
}

// securityHeaders sets the headers every response carries.
func securityHeaders(c *fiber.Ctx) error {
	setSecurityHeaders(c)
	return c.Next()
}

func setSecurityHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	// same-origin, not no-referrer: under no-referrer Chromium sends
	// "Origin: null" even on a same-origin form post (measured), which the
	// UI's origin check must refuse. Referrers still never leave the site.
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	c.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.Set(fiber.HeaderCacheControl, "no-store")
}

// recoverPanics turns a panic into a 500 problem; the stack goes to the log only.
func recoverPanics(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic", "request_id", requestID(c), "path", c.Path(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = errs.Wrap(errs.Internal, fmt.Errorf("panic: %v", r), "")
			}
		}()
		return c.Next()
	}
}

// observe logs one line per request and records its duration by route. It
// runs the error handler itself so that the logged status is the real one.
func observe(log *slog.Logger, reg prometheus.Registerer, trusted []netip.Prefix) fiber.Handler {
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "casefile_http_request_duration_seconds",
		Help:    "HTTP request latency by route, method and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route", "status"})
	reg.MustRegister(hist)
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		route := c.Route().Path
		// Fiber answers a path no route matches with its own 404 (or 405),
		// leaving c.Route() at the last middleware that ran. Fiber reports
		// a middleware route under the request's method, never "USE".
		var fe *fiber.Error
		if errors.As(err, &fe) && (fe.Code == fiber.StatusNotFound || fe.Code == fiber.StatusMethodNotAllowed) {
			route = "unmatched" // keeps label cardinality bounded
		}
		if err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		elapsed := time.Since(start)
		status := c.Response().StatusCode()
		hist.WithLabelValues(c.Method(), route, strconv.Itoa(status)).Observe(elapsed.Seconds())
		user := ""
		if p := principal(c); p != nil {
			user = p.User.Username
		}
		log.Info("http",
			"request_id", requestID(c),
			"method", c.Method(),
			"route", route,
			"path", c.Path(),
			"status", status,
			"duration_ms", float64(elapsed.Microseconds())/1000,
			"ip", clientIP(c, trusted),
			"user", user,
		)
		return nil
	}
}

// authenticate requires a valid access token on every route it guards.
func authenticate(svc AuthService) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token, ok := bearerToken(c.Get(fiber.HeaderAuthorization))
		if !ok {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="casefile"`)
			return errs.E(errs.Unauthenticated, "send an access token: Authorization: Bearer <token>")
		}
		p, err := svc.Authenticate(c.UserContext(), token)
		if err != nil {
			if errs.Is(err, errs.Unauthenticated) {
				c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="casefile", error="invalid_token"`)
			}
			return err
		}
		c.Locals(keyPrincipal, p)
		return c.Next()
	}
}

// bearerToken extracts the token of an "Authorization: Bearer" header,
// refusing anything longer than a token can be before looking further.
func bearerToken(h string) (string, bool) {
	const prefix = "bearer "
	if len(h) <= len(prefix) || len(h) > len(prefix)+auth.MaxTokenLen || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}

// principal is the authenticated caller, nil on public routes.
func principal(c *fiber.Ctx) *auth.Principal {
	p, _ := c.Locals(keyPrincipal).(*auth.Principal)
	return p
}

// caller is the authenticated user of a guarded route.
func caller(c *fiber.Ctx) *auth.User {
	return &principal(c).User
}

// clientIP is the address of the client. X-Forwarded-For is believed only
// when the direct peer is a trusted proxy, and then read from the right,
// skipping trusted hops: the first untrusted address is the client. Entries
// to its left were written by the client and are ignored.
func clientIP(c *fiber.Ctx, trusted []netip.Prefix) string {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return ""
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a.String()
		}
	}
	return peer.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
