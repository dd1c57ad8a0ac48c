package web

// The browser UI: server-rendered pages over the same services as the API.
// Pages live in ui_*.go files, templates in ui/templates, and the CSS and
// the one script in ui/static, all embedded in the binary.
//
// Sign-in. A login sets two cookies, both HttpOnly, SameSite=Strict, Path=/
// and Secure when the request came over TLS: cf_access holds the access
// token, cf_refresh the refresh token. Both are re-set on every page with a
// Max-Age of UIIdleTimeout, so a browser left idle that long forgets them
// and its user signs in again. When the access token has expired, the page
// request refreshes it first (see uiSession.refresh), so users never notice.
//
// CSRF. Every form post carries a token: for a signed-in user it is derived
// from their session id (which only the HttpOnly cookie carries), for the
// login form it is a double-submit cookie. SameSite=Strict already keeps
// other sites' posts from carrying the cookies; the token and an Origin
// check make that hold on browsers that ignore SameSite too.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

//go:embed ui/templates ui/static
var uiFiles embed.FS

// UIIdleTimeout signs a browser out after this long without a page.
const UIIdleTimeout = 30 * time.Minute

// Cookie names.
const (
	cookieAccess    = "cf_access"
	cookieRefresh   = "cf_refresh"
	cookieLoginCSRF = "cf_login_csrf"
	cookieFlash     = "cf_flash"
	csrfField       = "_csrf"
)

const keyUIPage = "ui.page"

// ui renders the browser pages.
type ui struct {
	d     Deps
	g     guard
	pages map[string]*template.Template
	sess  *uiSession
}

// registerUI mounts the pages and the static files.
func registerUI(app *fiber.App, d Deps, g guard) {
	u := &ui{d: d, g: g, sess: newUISession(d.Auth), pages: map[string]*template.Template{}}
	u.parse()

	static, _ := fs.Sub(uiFiles, "ui/static")
	app.Use("/static", func(c *fiber.Ctx) error {
		err := c.Next()
		// Assets change only with the binary; a day keeps pages quick.
		c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
		return err
	}, filesystem.New(filesystem.Config{Root: http.FS(static)}))

	app.Get("/login", u.loginPage)
	app.Post("/login", u.login)

	// Every page route runs these first. They are prepended per route (see
	// pageRouter), not mounted with Use: a Use at "/" would also catch the
	// API's and unknown paths, turning their 404s into login redirects.
	pages := pageRouter{Router: app, pre: []fiber.Handler{u.markPage, u.requireSession, u.checkCSRF}}
	pages.Post("/logout", u.logout)
	pages.Get("/settings", u.settingsPage)
	u.routesCases(pages)
	u.routesIncidents(pages)
	u.routesLead(pages)
	u.routesInsight(pages)
	u.routesExports(pages)
}

// pageRouter registers routes with its pre handlers in front of theirs.
// Groups made from it keep doing so; a group's own handlers (a gate) run
// after the pre handlers, so they see the signed-in caller.
type pageRouter struct {
	fiber.Router
	pre []fiber.Handler
}

func (p pageRouter) chain(h []fiber.Handler) []fiber.Handler {
	return append(append(make([]fiber.Handler, 0, len(p.pre)+len(h)), p.pre...), h...)
}

func (p pageRouter) Get(path string, h ...fiber.Handler) fiber.Router {
	p.Router.Get(path, p.chain(h)...)
	return p
}

func (p pageRouter) Post(path string, h ...fiber.Handler) fiber.Router {
	p.Router.Post(path, p.chain(h)...)
	return p
}

func (p pageRouter) Group(prefix string, h ...fiber.Handler) fiber.Router {
	if len(h) > 0 {
		h = p.chain(h)
	}
	return pageRouter{Router: p.Router.Group(prefix, h...), pre: p.pre}
}

// parse reads every page template: each page is the layout, the shared
// partials and the page's own file.
func (u *ui) parse() {
	files, err := fs.Glob(uiFiles, "ui/templates/pages/*.html")
	if err != nil || len(files) == 0 {
		panic(fmt.Sprintf("web: no page templates: %v", err))
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		t := template.New(name).Funcs(uiFuncs())
		t = template.Must(t.ParseFS(uiFiles, "ui/templates/layout.html", "ui/templates/partials/*.html", f))
		u.pages[name] = t
	}
}

// view is what every page template receives.
type view struct {
	Title string
	// Nav names the menu entry to highlight.
	Nav   string
	User  *auth.User
	CSRF  string
	Flash string
	// Data is the page's own data.
	Data any
	// Errors are field errors of a form post, by field.
	Errors map[string]string
	// Message is a form-level error.
	Message   string
	RequestID string
}

// render writes page name with status.
func (u *ui) render(c *fiber.Ctx, status int, name string, v view) error {
	t, ok := u.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	if p := principal(c); p != nil {
		v.User = &p.User
		v.CSRF = csrfToken(p.SessionID)
	}
	if v.Flash == "" {
		v.Flash = u.takeFlash(c)
	}
	v.RequestID = requestID(c)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// page renders name with 200.
func (u *ui) page(c *fiber.Ctx, name, title, nav string, data any) error {
	return u.render(c, fiber.StatusOK, name, view{Title: title, Nav: nav, Data: data})
}

// formError re-renders a form page after a refused post: field errors
// next to their inputs, anything else as a message, with the status the
// API would answer. Errors that are not the user's (internal) go up.
func (u *ui) formError(c *fiber.Ctx, err error, name, title, nav string, data any) error {
	var e *errs.Error
	if !errors.As(err, &e) || e.Code == errs.Internal || e.Code == errs.NotFound || e.Code == errs.Forbidden {
		return err
	}
	v := view{Title: title, Nav: nav, Data: data, Message: e.Message, Errors: map[string]string{}}
	for _, f := range e.Fields {
		v.Errors[f.Field] = f.Message
	}
	if e.Code == errs.PreconditionFailed {
		v.Message = "Someone else changed this while you were editing. Reload the page to see their change, then try again."
	}
	return u.render(c, statusOf[e.Code], name, v)
}

// redirect answers a successful form post (303, so a reload does not post
// again) with an optional one-time message for the next page.
func (u *ui) redirect(c *fiber.Ctx, to, flash string) error {
	if flash != "" {
		c.Cookie(&fiber.Cookie{Name: cookieFlash, Value: url.QueryEscape(flash), Path: "/", HTTPOnly: true,
			SameSite: fiber.CookieSameSiteStrictMode, Secure: c.Protocol() == "https", MaxAge: 60})
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

func (u *ui) takeFlash(c *fiber.Ctx) string {
	v := c.Cookies(cookieFlash)
	if v == "" {
		return ""
	}
	c.Cookie(&fiber.Cookie{Name: cookieFlash, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, MaxAge: -1, Expires: time.Unix(1, 0)})
	s, err := url.QueryUnescape(v)
	if err != nil || len(s) > 300 {
		return ""
	}
	return s
}

// markPage flags the request as a page, so errors render as HTML.
func (u *ui) markPage(c *fiber.Ctx) error {
	c.Locals(keyUIPage, u)
	return c.Next()
}

// uiFor is the UI when the request is a page, for the error handler.
func uiFor(c *fiber.Ctx) *ui {
	u, _ := c.Locals(keyUIPage).(*ui)
	return u
}

// errorPage renders err as an HTML page. A missing session goes to the
// login page, coming back here after it.
func (u *ui) errorPage(c *fiber.Ctx, code errs.Code, status int, message string) error {
	if code == errs.Unauthenticated && c.Method() == fiber.MethodGet {
		return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
	}
	title := titleOf[code]
	if code == errs.NotFound {
		message = "There is nothing here, or you may not see it."
	}
	return u.render(c, status, "error", view{Title: title, Message: message})
}

// --- sessions ---

func (u *ui) setSessionCookies(c *fiber.Ctx, t auth.Tokens) {
	secure := c.Protocol() == "https"
	for name, v := range map[string]string{cookieAccess: t.AccessToken, cookieRefresh: t.RefreshToken} {
		c.Cookie(&fiber.Cookie{Name: name, Value: v, Path: "/", HTTPOnly: true, Secure: secure,
			SameSite: fiber.CookieSameSiteStrictMode, MaxAge: int(UIIdleTimeout.Seconds())})
	}
}

func (u *ui) clearSessionCookies(c *fiber.Ctx) {
	for _, name := range []string{cookieAccess, cookieRefresh} {
		c.Cookie(&fiber.Cookie{Name: name, Path: "/", HTTPOnly: true, Secure: c.Protocol() == "https",
			SameSite: fiber.CookieSameSiteStrictMode, MaxAge: -1, Expires: time.Unix(1, 0)})
	}
}

// requireSession authenticates a page request from its cookies,
// refreshing an expired access token on the way.
func (u *ui) requireSession(c *fiber.Ctx) error {
	if principal(c) != nil {
		return c.Next() // a group's gate already ran it
	}
	access, refresh := c.Cookies(cookieAccess), c.Cookies(cookieRefresh)
	if access == "" && refresh == "" {
		return errs.E(errs.Unauthenticated, "sign in")
	}
	ctx := c.UserContext()
	p, err := u.d.Auth.Authenticate(ctx, access)
	if err != nil && !errs.Is(err, errs.Unauthenticated) {
		return err
	}
	if err != nil || access == "" {
		t, err := u.sess.refresh(ctx, refresh, u.g.meta(c))
		if err != nil {
			u.clearSessionCookies(c)
			if errs.Is(err, errs.Unauthenticated) {
				return errs.E(errs.Unauthenticated, "your session ended; sign in again")
			}
			return err
		}
		if p, err = u.d.Auth.Authenticate(ctx, t.AccessToken); err != nil {
			return err
		}
		access, refresh = t.AccessToken, t.RefreshToken
	}
	// Sliding idle expiry: every page pushes it back.
	u.setSessionCookies(c, auth.Tokens{AccessToken: access, RefreshToken: refresh})
	c.Locals(keyPrincipal, p)
	return c.Next()
}

// uiSession shares refreshes between concurrent requests of one browser.
// Refresh tokens rotate and a reused one revokes its session (auth.Service.
// Refresh), so two page requests that find the same expired access token
// must not both spend the refresh token: the first refreshes, and the
// others get its result for a short while.
type uiSession struct {
	auth AuthService
	mu   sync.Mutex
	// recent maps a spent refresh token's hash to what it was exchanged for.
	recent map[string]spentRefresh
}

type spentRefresh struct {
	tokens auth.Tokens
	at     time.Time
}

// refreshGrace is how long a spent refresh token's result is shared.
const refreshGrace = 30 * time.Second

func newUISession(a AuthService) *uiSession {
	return &uiSession{auth: a, recent: map[string]spentRefresh{}}
}

func (s *uiSession) refresh(ctx context.Context, raw string, m auth.Meta) (auth.Tokens, error) {
	if raw == "" {
		return auth.Tokens{}, errs.E(errs.Unauthenticated, "no refresh token")
	}
	sum := sha256.Sum256([]byte(raw))
	key := hex.EncodeToString(sum[:])
	// Held across the refresh: one browser's requests wait for one
	// exchange; refreshes are rare (one per access token lifetime).
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for k, v := range s.recent {
		if now.Sub(v.at) > refreshGrace {
			delete(s.recent, k)
		}
	}
	if v, ok := s.recent[key]; ok {
		return v.tokens, nil
	}
	t, err := s.auth.Refresh(ctx, raw, m)
	if err != nil {
		return auth.Tokens{}, err
	}
	s.recent[key] = spentRefresh{tokens: t, at: now}
	return t, nil
}

// --- CSRF ---

// csrfToken is the form token of a session: a hash of its id, which only
// the HttpOnly cookie carries, so another site cannot know it.
func csrfToken(sessionID string) string {
	sum := sha256.Sum256([]byte("casefile csrf\x00" + sessionID))
	return hex.EncodeToString(sum[:])
}

// checkCSRF refuses a state-changing page request without the session's
// token or from another origin.
func (u *ui) checkCSRF(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		return c.Next()
	}
	if !sameOrigin(c) {
		return errs.E(errs.Forbidden, "the form came from another site")
	}
	p := principal(c)
	got := formToken(c)
	if p == nil || subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(p.SessionID))) != 1 {
		return errs.E(errs.Forbidden, "the form has expired; reload the page and try again")
	}
	return c.Next()
}

// formToken is the CSRF token of a form post (field _csrf, or the
// X-CSRF-Token header for the few scripted posts).
func formToken(c *fiber.Ctx) string {
	if h := c.Get("X-CSRF-Token"); h != "" {
		return h
	}
	return c.FormValue(csrfField)
}

// sameOrigin: a post that names its Origin (every current browser does)
// must name this host.
func sameOrigin(c *fiber.Ctx) bool {
	o := c.Get(fiber.HeaderOrigin)
	if o == "" {
		return true
	}
	ou, err := url.Parse(o)
	return err == nil && ou.Host == c.Hostname()
}

// --- login and logout ---

type loginData struct {
	Username string
	Next     string
}

func (u *ui) loginCSRF(c *fiber.Ctx) string {
	if v := c.Cookies(cookieLoginCSRF); len(v) == 64 {
		return v
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	v := hex.EncodeToString(b[:])
	c.Cookie(&fiber.Cookie{Name: cookieLoginCSRF, Value: v, Path: "/login", HTTPOnly: true, Secure: c.Protocol() == "https",
		SameSite: fiber.CookieSameSiteStrictMode, MaxAge: 3600})
	return v
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || len(next) > 2000 {
		return "/"
	}
	return next
}

func (u *ui) loginPage(c *fiber.Ctx) error {
	c.Locals(keyUIPage, u)
	v := view{Title: "Sign in", CSRF: u.loginCSRF(c), Data: loginData{Next: safeNext(c.Query("next"))}}
	return u.render(c, fiber.StatusOK, "login", v)
}

func (u *ui) login(c *fiber.Ctx) error {
	c.Locals(keyUIPage, u)
	data := loginData{Username: c.FormValue("username"), Next: safeNext(c.FormValue("next"))}
	cookie := c.Cookies(cookieLoginCSRF)
	if !sameOrigin(c) || cookie == "" || subtle.ConstantTimeCompare([]byte(cookie), []byte(c.FormValue(csrfField))) != 1 {
		return u.render(c, fiber.StatusForbidden, "login", view{Title: "Sign in", CSRF: u.loginCSRF(c), Data: data,
			Message: "The sign-in form expired. Please try again."})
	}
	t, err := u.d.Auth.Login(c.UserContext(), data.Username, c.FormValue("password"), u.g.meta(c))
	if err != nil {
		var e *errs.Error
		if !errors.As(err, &e) || e.Code == errs.Internal {
			return err
		}
		return u.render(c, statusOf[e.Code], "login", view{Title: "Sign in", CSRF: cookie, Data: data, Message: e.Message})
	}
	u.setSessionCookies(c, t)
	return c.Redirect(data.Next, fiber.StatusSeeOther)
}

func (u *ui) logout(c *fiber.Ctx) error {
	if err := u.d.Auth.Logout(c.UserContext(), principal(c), u.g.meta(c)); err != nil {
		return err
	}
	u.clearSessionCookies(c)
	return c.Redirect("/login", fiber.StatusSeeOther)
}
