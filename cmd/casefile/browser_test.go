package main

// Browser tests: the real server, started through run as in the other
// end-to-end tests, driven by a headless Chromium through the DevTools
// protocol (chromedp). Each user has a browser context of their own, so
// their cookies are separate, as two people at two desks.
//
// Chromium is looked up in CASEFILE_CHROMIUM, /usr/bin/chromium and the
// PATH. Without one the tests skip, loudly, unless CASEFILE_REQUIRE_BROWSER=1
// (as .ci/run sets), when they fail. On a failure the page's screenshot and
// HTML go to $CASEFILE_ARTIFACTS (default: a folder under the temporary
// directory) and the test log names the files.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/syncbuf"
)

// actionTimeout bounds one browser step (a navigation, a click and the
// page it loads). Generous: CI has two slow cores and -race.
const actionTimeout = 45 * time.Second

// browserPassword is every browser test user's password.
const browserPassword = "correct horse battery staple"

// bUser is a user the browser tests sign in as.
type bUser struct {
	Username, Role, Team, Vendor, DisplayName string
}

// The cast: one of every role, two leads (one proposes or drafts, the
// other approves: nobody approves their own work).
var (
	uAda         = bUser{"ada", "admin", "", "", "Ada Admin"}
	uIvy         = bUser{"ivy", "investigator", "fraud", "", "Ivy Investigator"}
	uLena        = bUser{"lena", "lead", "fraud", "", "Lena Lead"}
	uLuke        = bUser{"luke", "lead", "fraud", "", "Luke Lead"}
	uVic         = bUser{"vic", "vendor_agent", "", "acme", "Vic Vendor"}
	uLeo         = bUser{"leo", "leadership", "", "", "Leo Leadership"}
	browserUsers = []bUser{uAda, uIvy, uLena, uLuke, uVic, uLeo}
)

func (u bUser) password() string {
	if u.Username == "admin" {
		return e2eAdminPassword
	}
	return browserPassword
}

// findChromium returns the browser to drive, or "".
func findChromium() string {
	if p := os.Getenv("CASEFILE_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// requireChromium skips (or, when CASEFILE_REQUIRE_BROWSER=1, fails) the
// test when there is no browser to drive.
func requireChromium(t *testing.T) string {
	t.Helper()
	p := findChromium()
	if p != "" {
		return p
	}
	msg := "\n" + strings.Repeat("!", 72) + "\n" +
		"!!  NO CHROMIUM FOUND: the browser tests did NOT run.\n" +
		"!!  Install Debian's `chromium` (apt-get install chromium) or set\n" +
		"!!  CASEFILE_CHROMIUM to a Chrome/Chromium binary.\n" +
		strings.Repeat("!", 72)
	if os.Getenv("CASEFILE_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + "\nCASEFILE_REQUIRE_BROWSER=1: failing.")
	}
	t.Skip(msg)
	return ""
}

// artifactsDir is where failure screenshots and HTML go.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("CASEFILE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "casefile-browser-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("artifacts dir %s: %v", dir, err)
	}
	return dir
}

// browserEnv is one server, its users, and one Chromium.
type browserEnv struct {
	srv       *server
	tokens    map[string]string // API access tokens by username
	browser   context.Context   // a chromedp context whose browser runs
	artifacts string
}

// startBrowserEnv starts the server on a fresh data dir, creates the
// cast through the API as the bootstrap admin, and starts Chromium.
func startBrowserEnv(t *testing.T) *browserEnv {
	t.Helper()
	chromium := requireChromium(t)
	e := &browserEnv{tokens: map[string]string{}, artifacts: artifactsDir(t)}
	profile := t.TempDir() // removed after the browser stops (cleanups run last-in first-out)

	e.srv = startServer(t, t.TempDir(), e2eEnv())
	e.srv.waitReady(t)
	admin := e.srv.login(t, "admin", e2eAdminPassword)
	e.tokens["admin"] = admin
	for _, u := range browserUsers {
		body := map[string]string{"username": u.Username, "role": u.Role, "password": u.password(), "display_name": u.DisplayName}
		if u.Team != "" {
			body["team"] = u.Team
		}
		if u.Vendor != "" {
			body["vendor"] = u.Vendor
		}
		resp, out := e.srv.call(t, http.MethodPost, "/api/v1/users", admin, body)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "create %s: %v", u.Username, out)
		e.tokens[u.Username] = e.srv.login(t, u.Username, u.password())
	}

	var chromeOut syncbuf.Buffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&chromeOut),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(browser, 20*time.Second)
		defer cancel()
		_ = chromedp.Cancel(ctx)
		cancelBrowser()
		cancelAlloc()
	})
	// The first run starts the browser, bound to browser's life: no timeout
	// on it, but a watchdog in case Chromium never answers.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browser) }()
	select {
	case err := <-started:
		require.NoError(t, err, "start Chromium %s\n%s", chromium, chromeOut.String())
	case <-time.After(90 * time.Second):
		cancelBrowser()
		t.Fatalf("Chromium %s did not start in 90 s\n%s", chromium, chromeOut.String())
	}
	e.browser = browser
	return e
}

// tab is one user's browser: a browser context of its own (cookies apart
// from every other tab's) with one page.
type tab struct {
	t    *testing.T
	e    *browserEnv
	name string
	ctx  context.Context

	mu      sync.Mutex
	dialogs []string // JavaScript dialogs that opened, dismissed at once
	saved   bool
}

// newTab opens a fresh browser context for name (a label in artifact
// file names, usually the user). It is closed when t ends; if t failed,
// its screenshot and HTML are saved first.
func (e *browserEnv) newTab(t *testing.T, name string) *tab {
	t.Helper()
	p := &tab{t: t, e: e, name: name}
	ctx, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(p.onEvent))
	p.ctx = ctx
	t.Cleanup(cancel)
	t.Cleanup(func() {
		if t.Failed() {
			p.saveArtifacts("failed")
		}
	})
	// Open the tab with no timeout (its life is bound to this first run).
	require.NoError(t, chromedp.Do(ctx), "open a tab for %s", name)
	return p
}

// onEvent runs on chromedp's reader goroutine: record, and dismiss a
// dialog from another goroutine (a dialog blocks the page until handled).
func (p *tab) onEvent(ev any) {
	if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
		p.mu.Lock()
		p.dialogs = append(p.dialogs, fmt.Sprintf("%s dialog at %s: %q", d.Type, d.URL, d.Message))
		p.mu.Unlock()
		go func() {
			ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
			defer cancel()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}()
	}
}

// noDialogs fails the test if any JavaScript dialog opened in this tab.
func (p *tab) noDialogs() {
	p.t.Helper()
	p.mu.Lock()
	d := append([]string(nil), p.dialogs...)
	p.mu.Unlock()
	if len(d) > 0 {
		p.failf("JavaScript dialogs opened: %s", strings.Join(d, "; "))
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// saveArtifacts writes a screenshot and the HTML of the page and logs
// their paths.
func (p *tab) saveArtifacts(why string) {
	p.mu.Lock()
	if p.saved {
		p.mu.Unlock()
		return
	}
	p.saved = true
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	base := filepath.Join(p.e.artifacts, unsafeName.ReplaceAllString(fmt.Sprintf("%s-%s-%s-%d", p.t.Name(), p.name, why, time.Now().UnixNano()), "_"))
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err != nil {
		p.t.Logf("screenshot of %s's page: %v", p.name, err)
	} else if err := os.WriteFile(base+".png", png, 0o644); err != nil {
		p.t.Logf("write screenshot: %v", err)
	} else {
		p.t.Logf("screenshot of %s's page: %s.png", p.name, base)
	}
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.location.href + "\n" + document.documentElement.outerHTML`))
	if err != nil {
		p.t.Logf("HTML of %s's page: %v", p.name, err)
	} else if err := os.WriteFile(base+".html", []byte(html), 0o644); err != nil {
		p.t.Logf("write HTML: %v", err)
	} else {
		p.t.Logf("HTML of %s's page: %s.html", p.name, base)
	}
}

// failf saves the page and fails the test now.
func (p *tab) failf(format string, args ...any) {
	p.t.Helper()
	msg := fmt.Sprintf(format, args...)
	p.saveArtifacts("failed")
	p.t.Fatalf("%s's browser: %s", p.name, msg)
}

// do runs actions with the step timeout, failing the test on an error.
func (p *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.failf("%s: %v (at %s)", what, err, p.location())
	}
}

// run runs one action that returns a value.
func run1[T any](p *tab, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.failf("%s: %v (at %s)", what, err, p.location())
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *tab, expr string) T {
	p.t.Helper()
	return run1(p, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// location is the page's URL (best effort, for messages).
func (p *tab) location() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	l, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return l
}

// path is the page's path and query.
func (p *tab) path() string {
	p.t.Helper()
	return eval[string](p, `location.pathname + location.search`)
}

// open navigates to a path of the server and returns the HTTP status of
// the document.
func (p *tab) open(path string) int {
	p.t.Helper()
	resp := run1(p, "open "+path, chromedp.NavigateResponse(p.e.srv.base+path))
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// submit runs actions that end in a navigation (a click on a submit
// button, usually), waits for the next page and returns its status.
func (p *tab) submit(what string, actions ...chromedp.Action[chromedp.Void]) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		p.failf("%s: %v (at %s)", what, err, p.location())
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// text is the visible text of the page's body.
func (p *tab) text() string {
	p.t.Helper()
	return eval[string](p, `document.body ? document.body.innerText : ""`)
}

// textOf is the visible text of the first element matching the CSS
// selector, waiting for it.
func (p *tab) textOf(css string) string {
	p.t.Helper()
	return run1(p, "text of "+css, chromedp.Text(chromedp.CSS(css), chromedp.NodeReady))
}

// has reports whether the CSS selector matches now (no waiting).
func (p *tab) has(css string) bool {
	p.t.Helper()
	return eval[bool](p, fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(css)))
}

// requireText fails unless the page's text contains every one of want.
func (p *tab) requireText(want ...string) {
	p.t.Helper()
	got := p.text()
	for _, w := range want {
		if !strings.Contains(got, w) {
			p.failf("the page %s does not show %q; it shows:\n%s", p.location(), w, clip(got, 3000))
		}
	}
}

// requireNoText fails if the page's text contains any of bad.
func (p *tab) requireNoText(bad ...string) {
	p.t.Helper()
	got := p.text()
	for _, b := range bad {
		if strings.Contains(got, b) {
			p.failf("the page %s shows %q; it should not:\n%s", p.location(), b, clip(got, 3000))
		}
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x2028 || r == 0x2029 || r == '<':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// fill sets the value of the form field with this CSS selector and fires
// input and change events, as typing would.
func (p *tab) fill(css, value string) {
	p.t.Helper()
	p.do("fill "+css, chromedp.WaitReady(chromedp.CSS(css)))
	ok := eval[bool](p, fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		if (!el) return false;
		el.value = %s;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})()`, jsString(css), jsString(value)))
	if !ok {
		p.failf("no field %s", css)
	}
}

// login signs in through the form and requires that it worked.
func (p *tab) login(u bUser) {
	p.t.Helper()
	p.open("/login")
	p.fill("#username", u.Username)
	p.fill("#password", u.password())
	p.submit("sign in as "+u.Username, chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`), chromedp.NodeVisible))
	if p.has("#password") {
		hint := ""
		if strings.Contains(p.text(), "form expired") {
			hint = "\n(the server refused the form's CSRF/Origin check. Chromium sends `Origin: null` with a same-origin " +
				"form post when the page's Referrer-Policy is no-referrer: an Origin check must accept that, or the " +
				"policy must be same-origin or strict-origin-when-cross-origin)"
		}
		p.failf("still on the sign-in form after signing in as %s: %s%s", u.Username, clip(p.text(), 2000), hint)
	}
	who := p.textOf("header .who")
	if !strings.Contains(who, u.Username) {
		p.failf("the header names %q, not %s", who, u.Username)
	}
}

// logout signs out with the header's button.
func (p *tab) logout() {
	p.t.Helper()
	p.submit("sign out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`), chromedp.NodeVisible))
}

// TestBrowser drives the pages in Chromium, one flow per subtest, over one
// server and one browser.
func TestBrowser(t *testing.T) {
	start := time.Now()
	e := startBrowserEnv(t)
	t.Logf("server, users and Chromium ready in %s", time.Since(start).Round(time.Millisecond))

	t.Run("Login", func(t *testing.T) { browserLogin(t, e) })
	t.Run("CaseFlow", func(t *testing.T) { browserCaseFlow(t, e) })
	t.Run("IncidentFlow", func(t *testing.T) { browserIncidentFlow(t, e) })
	t.Run("LeadershipReads", func(t *testing.T) { browserLeadershipFlow(t, e) })
	t.Run("VendorScope", func(t *testing.T) { browserVendorScope(t, e) })
	t.Run("XSS", func(t *testing.T) { browserXSS(t, e) })

	t.Cleanup(func() { t.Logf("browser suite took %s", time.Since(start).Round(time.Millisecond)) })
}

// (a) Sign in through the form; a wrong password shows an error; sign out.
func browserLogin(t *testing.T, e *browserEnv) {
	p := e.newTab(t, "ivy")

	// A page asked for while signed out leads to the form, and back after.
	p.open("/settings")
	if !strings.HasPrefix(p.path(), "/login") {
		p.failf("a signed-out visit to /settings did not go to the sign-in form: %s", p.path())
	}

	// Wrong password: the form again, with an error, and no session.
	p.fill("#username", uIvy.Username)
	p.fill("#password", "not the password")
	status := p.submit("sign in with a wrong password", chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`), chromedp.NodeVisible))
	alert := p.textOf(`[role="alert"]`)
	if status != http.StatusUnauthorized {
		p.failf("a wrong password answered %d (%q), want 401", status, alert)
	}
	if !strings.Contains(strings.ToLower(alert), "password") {
		p.failf("a wrong password shows %q, not an error about the password", alert)
	}
	if !p.has("#password") {
		p.failf("a wrong password does not show the form again")
	}
	if got := run1(p, "username kept", chromedp.Value(chromedp.CSS("#username"))); got != uIvy.Username {
		p.failf("the form forgot the username: %q", got)
	}
	if p.has(`form[action="/logout"]`) {
		p.failf("a wrong password signed in")
	}

	// The right one: back to /settings, signed in.
	p.fill("#password", uIvy.password())
	p.submit("sign in", chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`), chromedp.NodeVisible))
	if got := p.path(); got != "/settings" {
		p.failf("after signing in: %s, want /settings (the page asked for)", got)
	}
	p.requireText(uIvy.Username, uIvy.DisplayName, "Investigator")

	// Sign out: the sign-in form, and pages need a sign-in again.
	p.logout()
	if !strings.HasPrefix(p.path(), "/login") {
		p.failf("after signing out: %s, want /login", p.path())
	}
	p.open("/settings")
	if !strings.HasPrefix(p.path(), "/login") {
		p.failf("/settings after signing out: %s, want the sign-in form", p.path())
	}

	// A second user in another browser context is not affected.
	q := e.newTab(t, "lena")
	q.login(uLena)
	q.open("/settings")
	q.requireText(uLena.DisplayName, "Lead")
	p.open("/settings")
	if !strings.HasPrefix(p.path(), "/login") {
		p.failf("ivy's signed-out browser got lena's session: %s", p.path())
	}
	p.noDialogs()
	q.noDialogs()
}
