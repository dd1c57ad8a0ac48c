package web_test

// The OpenAPI document (web/openapi.yaml, served at /api/openapi.json) is
// kept true three ways:
//   - TestOpenAPIRouteSet: its paths and methods are exactly the API routes
//     the app registers;
//   - TestOpenAPIDocumentIsValid: it is a valid OpenAPI 3.1 document, as
//     pb33f/libopenapi-validator judges it, whose references all resolve;
//   - every API response the package's tests receive through the harness
//     (harness.do) is recorded and, when the harness's test ends, validated
//     against the document by libopenapi-validator: status, content type,
//     body schema (strict: undeclared fields count) and headers. The test
//     that received a response the document does not describe fails with
//     the list. TestOpenAPIContractCatchesWrongResponses shows the check
//     failing on responses that are wrong.
//
// Why at the end of each harness's test and not once after m.Run: TestMain
// is storetest.Main, which exits the process when the tests are done, and a
// failure is more useful on the test that made the request.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"casefile.dev/casefile/web"
)

// apiContract is the served document, parsed, with its validators.
type apiContract struct {
	raw       []byte
	model     *v3.Document
	opts      *config.ValidationOptions
	responses validator.Validator
	// lenient checks the one answer strict mode cannot: the document
	// itself, whose body TestOpenAPIDocumentIsValid judges.
	lenient validator.Validator
	problem *base.Schema
	schemas schema_validation.SchemaValidator

	mu sync.Mutex // the validator caches compiled schemas; one check at a time
}

// everyResponseHeader are the headers every response carries (see
// securityHeaders in middleware.go); the document says so once, in its
// description, instead of on every response.
var everyResponseHeader = []string{"content-security-policy", "x-content-type-options", "x-frame-options",
	"referrer-policy", "cross-origin-opener-policy", "x-request-id"}

// loadContract builds the contract once per test binary from the document
// as the server serves it.
var loadContract = sync.OnceValues(func() (*apiContract, error) {
	app := web.NewServer(web.Deps{})
	res, err := app.Test(httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil), -1)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/openapi.json: %d %s", res.StatusCode, raw)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		return nil, err
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("building the model: %w", err)
	}
	common := []config.Option{
		config.WithFormatAssertions(),
		// The radix tree matches /cases/CF-2026-1.md to /cases/{id}; the
		// regex matcher ranks /cases/{id}.md first, as Fiber routes it.
		config.DisablePathTree(),
	}
	// Strict: a response field or header the document does not declare
	// is a mismatch too, so the document stays complete. Strict mode
	// counts a property matched only by additionalProperties as
	// undeclared (by design, v0.13.8): maps use patternProperties.
	opts := append(slices.Clone(common), config.WithStrictMode(), config.WithStrictRejectWriteOnly(),
		config.WithStrictIgnoredHeadersExtra(everyResponseHeader...))
	v := validator.NewValidatorFromV3Model(&m.Model, opts...)
	v.SetDocument(doc)
	problem, ok := m.Model.Components.Schemas.Get("Problem")
	if !ok {
		return nil, fmt.Errorf("the document has no Problem schema")
	}
	return &apiContract{raw: raw, model: &m.Model, opts: config.NewValidationOptions(opts...), responses: v,
		lenient: validator.NewValidatorFromV3Model(&m.Model, common...), problem: problem.Schema(),
		schemas: schema_validation.NewSchemaValidator(opts...)}, nil
})

func contract(t testing.TB) *apiContract {
	t.Helper()
	c, err := loadContract()
	require.NoError(t, err, "the OpenAPI document")
	return c
}

// isAPIPath: the API and the operational endpoints; everything else is the
// browser UI, which the document does not describe.
func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz" || p == "/metrics"
}

// --- the route set ---

var fiberParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// openAPIPath writes a Fiber route path as an OpenAPI path template.
func openAPIPath(route string) string { return fiberParam.ReplaceAllString(route, "{$1}") }

// registeredAPIRoutes are "METHOD /path/{param}" of every API route of app,
// without Fiber's automatic HEAD routes.
func registeredAPIRoutes(t *testing.T, app *fiber.App) map[string]bool {
	t.Helper()
	gets := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if r.Method == http.MethodGet {
			gets[r.Path] = true
		}
	}
	out := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if !isAPIPath(r.Path) || r.Method == http.MethodHead && gets[r.Path] {
			continue
		}
		require.NotRegexp(t, `[*+?]`, r.Path, "route %s %s: teach openAPIPath its wildcards", r.Method, r.Path)
		out[r.Method+" "+openAPIPath(r.Path)] = true
	}
	return out
}

// documentedOperations are "METHOD /path/{param}" of every operation of the document.
func documentedOperations(m *v3.Document) map[string]bool {
	out := map[string]bool{}
	for p, item := range m.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			out[strings.ToUpper(method)+" "+p] = true
		}
	}
	return out
}

func TestOpenAPIRouteSet(t *testing.T) {
	c := contract(t)
	registered := registeredAPIRoutes(t, web.NewServer(web.Deps{}))
	documented := documentedOperations(c.model)
	require.NotEmpty(t, registered)
	var undocumented, unregistered []string
	for k := range registered {
		if !documented[k] {
			undocumented = append(undocumented, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			unregistered = append(unregistered, k)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unregistered)
	assert.Empty(t, undocumented, "routes the app registers that web/openapi.yaml does not document:\n  %s", strings.Join(undocumented, "\n  "))
	assert.Empty(t, unregistered, "operations web/openapi.yaml documents that the app does not register:\n  %s", strings.Join(unregistered, "\n  "))
}

// --- the document itself ---

func TestOpenAPIDocumentIsValid(t *testing.T) {
	c := contract(t)
	assert.Equal(t, "3.1.0", c.model.Version)

	t.Run("valid OpenAPI 3.1 per libopenapi-validator", func(t *testing.T) {
		ok, errs := c.responses.ValidateDocument()
		assert.True(t, ok, "%s", describeErrors(errs))
	})

	// The document validation above takes a 3.1 Schema Object as any JSON
	// Schema; compiling each one finds what it lets through (a typo in a
	// type, a regex that does not compile).
	t.Run("every schema compiles", func(t *testing.T) {
		compile := func(where string, s *base.Schema) {
			_, errs := c.schemas.ValidateSchemaBytes(s, []byte("null"))
			for _, e := range errs {
				assert.NotEqual(t, "schema compilation failed", e.Message, "%s: %s", where, e.Reason)
			}
		}
		for name, proxy := range c.model.Components.Schemas.FromOldest() {
			compile("components.schemas."+name, proxy.Schema())
		}
		for k, op := range operationsOf(c.model) {
			for code, r := range op.Responses.Codes.FromOldest() {
				for mt, media := range r.Content.FromOldest() {
					if media.Schema != nil {
						compile(k+" "+code+" "+mt, media.Schema.Schema())
					}
				}
			}
		}
	})

	var doc any
	require.NoError(t, json.Unmarshal(c.raw, &doc))

	t.Run("every $ref resolves", func(t *testing.T) {
		for _, ref := range refsIn(doc) {
			_, ok := jsonPointer(doc, strings.TrimPrefix(ref, "#"))
			assert.True(t, strings.HasPrefix(ref, "#/") && ok, "$ref %s does not resolve", ref)
		}
	})

	t.Run("operation ids are unique", func(t *testing.T) {
		seen := map[string]string{}
		for k, op := range operationsOf(c.model) {
			if !assert.NotEmpty(t, op.OperationId, "%s has no operationId", k) {
				continue
			}
			assert.Empty(t, seen[op.OperationId], "operationId %s is used by %s and %s", op.OperationId, seen[op.OperationId], k)
			seen[op.OperationId] = k
		}
	})

	t.Run("path parameters are declared", func(t *testing.T) {
		tmpl := regexp.MustCompile(`\{([^}]+)\}`)
		for p, item := range c.model.Paths.PathItems.FromOldest() {
			for method, op := range item.GetOperations().FromOldest() {
				declared := map[string]bool{}
				for _, prm := range append(append([]*v3.Parameter{}, item.Parameters...), op.Parameters...) {
					if prm.In == "path" {
						declared[prm.Name] = true
						assert.True(t, prm.Required != nil && *prm.Required, "%s %s: path parameter %s must be required", method, p, prm.Name)
					}
				}
				for _, m := range tmpl.FindAllStringSubmatch(p, -1) {
					assert.True(t, declared[m[1]], "%s %s: path parameter {%s} is not declared", method, p, m[1])
				}
				assert.Len(t, declared, len(tmpl.FindAllString(p, -1)), "%s %s declares path parameters its path does not have", method, p)
			}
		}
	})

	t.Run("public routes say so", func(t *testing.T) {
		public := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /api/openapi.json": true,
			"POST /api/v1/auth/login": true, "POST /api/v1/auth/refresh": true}
		require.Len(t, c.model.Security, 1, "the document requires bearer auth by default")
		for k, op := range operationsOf(c.model) {
			isPublic := op.Security != nil && len(op.Security) == 0
			assert.Equal(t, public[k], isPublic, "%s: security: [] marks exactly the public routes", k)
		}
	})
}

func operationsOf(m *v3.Document) map[string]*v3.Operation {
	out := map[string]*v3.Operation{}
	for p, item := range m.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			out[strings.ToUpper(method)+" "+p] = op
		}
	}
	return out
}

func refsIn(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				out = append(out, s)
			} else {
				out = append(out, refsIn(e)...)
			}
		}
	case []any:
		for _, e := range x {
			out = append(out, refsIn(e)...)
		}
	}
	return out
}

func jsonPointer(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch x := v.(type) {
		case map[string]any:
			e, ok := x[tok]
			if !ok {
				return nil, false
			}
			v = e
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// --- serving it ---

func TestOpenAPIServed(t *testing.T) {
	app := web.NewServer(web.Deps{})
	res, err := app.Test(httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil), -1)
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "no token needed: %s", body)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	assert.Contains(t, res.Header.Get("Cache-Control"), "public")
	assert.NotContains(t, res.Header.Get("Cache-Control"), "no-store")
	etag := res.Header.Get("ETag")
	require.Regexp(t, `^"[0-9a-f]+"$`, etag)

	// The JSON is the YAML file, value for value.
	src, err := os.ReadFile("openapi.yaml")
	require.NoError(t, err)
	var fromYAML any
	require.NoError(t, yaml.Unmarshal(src, &fromYAML))
	want, err := json.Marshal(fromYAML)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(body))

	// Its paths keep the file's order (the first is the first written).
	first := bytes.Index(body, []byte(`"/healthz"`))
	last := bytes.Index(body, []byte(`"/api/v1/audit/verify"`))
	assert.True(t, first > 0 && last > first, "paths in the file's order")

	r := httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil)
	r.Header.Set("If-None-Match", etag)
	res, err = app.Test(r, -1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNotModified, res.StatusCode)
	b, _ := io.ReadAll(res.Body)
	assert.Empty(t, b)
}

// --- real responses against the document ---

// apiExchange is one API request and its response, as the harness saw them.
type apiExchange struct {
	method, target string // target: path and query as sent
	reqHeader      http.Header
	status         int
	header         http.Header
	body           []byte
}

// apiRecorder keeps the API exchanges of one harness; when the harness's
// test ends it checks them against the document.
type apiRecorder struct {
	routes []routeMatcher
	mu     sync.Mutex
	seen   []apiExchange
}

func newAPIRecorder(t *testing.T, app *fiber.App) *apiRecorder {
	r := &apiRecorder{routes: routeMatchers(app)}
	t.Cleanup(func() {
		r.mu.Lock()
		seen := r.seen
		r.mu.Unlock()
		if len(seen) == 0 {
			return
		}
		if bad := contract(t).check(seen, r.routes); len(bad) > 0 {
			t.Errorf("%d of %d API responses this test received do not fit web/openapi.yaml (fix the document, or report the handler):\n%s",
				countMismatches(bad), len(seen), formatMismatches(bad))
			return
		}
		t.Logf("%d API responses fit web/openapi.yaml", len(seen))
	})
	return r
}

// record keeps an exchange of the API; the body has been read, so it is
// kept as bytes and handed to the validator afresh.
func (r *apiRecorder) record(req *http.Request, res *http.Response, body []byte) {
	if r == nil || !isAPIPath(req.URL.Path) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, apiExchange{method: req.Method, target: req.URL.RequestURI(), reqHeader: req.Header.Clone(),
		status: res.StatusCode, header: res.Header.Clone(), body: bytes.Clone(body)})
}

// routeMatcher matches request paths to one registered route.
type routeMatcher struct {
	method string
	re     *regexp.Regexp
}

func routeMatchers(app *fiber.App) []routeMatcher {
	var out []routeMatcher
	for _, rt := range app.GetRoutes(true) {
		if !isAPIPath(rt.Path) {
			continue
		}
		pattern := "^" + fiberParam.ReplaceAllString(regexp.QuoteMeta(rt.Path), `[^/]+`) + "$"
		out = append(out, routeMatcher{method: rt.Method, re: regexp.MustCompile(pattern)})
	}
	return out
}

func routed(routes []routeMatcher, method, path string) bool {
	for _, r := range routes {
		if r.method == method && r.re.MatchString(path) {
			return true
		}
	}
	return false
}

// mismatch is one way a response does not fit the document.
type mismatch struct {
	method, path, status, what string
	count                      int
}

// check validates exchanges and returns the mismatches, grouped.
//
// Some exchanges are judged apart, on purpose:
//   - a request no route matches (a wrong path or method, which tests send
//     on purpose) is answered by Fiber's router, not by an operation of
//     the document: it must be a not-found problem (404, or 405 when the
//     path exists for other methods), or, under /api/v1 without a valid
//     token, the unauthenticated problem of the authentication middleware,
//     which runs before routing finds nothing;
//   - a HEAD request (Fiber answers it from the GET route, without a body)
//     must have a status the GET operation documents.
func (c *apiContract) check(exchanges []apiExchange, routes []routeMatcher) []mismatch {
	c.mu.Lock()
	defer c.mu.Unlock()
	groups := map[mismatch]int{}
	var order []mismatch
	add := func(e apiExchange, specPath, what string) {
		path := specPath
		if path == "" {
			path, _, _ = strings.Cut(e.target, "?")
		}
		k := mismatch{method: e.method, path: path, status: strconv.Itoa(e.status), what: what}
		if groups[k] == 0 {
			order = append(order, k)
		}
		groups[k]++
	}
	for _, e := range exchanges {
		req := httptest.NewRequest(e.method, e.target, nil)
		req.Header = e.reqHeader.Clone()
		switch {
		case !routed(routes, e.method, req.URL.Path):
			want := map[int]string{http.StatusNotFound: "not-found", http.StatusMethodNotAllowed: "not-found", http.StatusUnauthorized: "unauthenticated"}[e.status]
			if want == "" {
				add(e, "", "a request no route matches must be answered 404, 405 or (no token) 401")
				continue
			}
			if ok, errs := c.schemas.ValidateSchemaBytes(c.problem, e.body); !ok {
				add(e, "", "unrouted: the body is no Problem: "+describeErrors(errs))
			} else if got := problemType(e.body); got != "https://casefile.dev/problems/"+want {
				add(e, "", "unrouted: the problem's type is "+got+", not "+want)
			}
		case e.method == http.MethodHead:
			get := req.Clone(req.Context())
			get.Method = http.MethodGet
			item, errs, specPath := paths.FindPath(get, c.model, c.opts)
			if item == nil || len(errs) > 0 {
				add(e, "", "HEAD of a GET the document does not have")
			} else if item.Get.Responses.Codes.GetOrZero(strconv.Itoa(e.status)) == nil {
				add(e, specPath, "HEAD: status not documented for GET")
			}
		default:
			res := &http.Response{StatusCode: e.status, Header: e.header.Clone(), Body: io.NopCloser(bytes.NewReader(e.body)), Request: req}
			c.matchMediaRange(req, res)
			v := c.responses
			if req.URL.Path == "/api/openapi.json" {
				v = c.lenient
			}
			if ok, errs := v.ValidateHttpResponse(req, res); !ok {
				specPath := ""
				for _, err := range errs {
					if err.SpecPath != "" {
						specPath = err.SpecPath
					}
				}
				for _, err := range errs {
					add(e, specPath, describeError(err))
				}
			}
		}
	}
	out := make([]mismatch, len(order))
	for i, k := range order {
		k.count = groups[k]
		out[i] = k
	}
	return out
}

// matchMediaRange: libopenapi-validator (v0.13.8) looks a response's
// content type up in the document literally, so a download documented as
// "*/*" or "image/*" never matches. When the operation documents no
// literal entry for the type but a range that covers it, the response is
// checked as that range.
func (c *apiContract) matchMediaRange(req *http.Request, res *http.Response) {
	mt, _, _ := strings.Cut(res.Header.Get("Content-Type"), ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	if mt == "" || strings.HasSuffix(mt, "json") {
		return // the document names every JSON type literally
	}
	item, errs, _ := paths.FindPath(req, c.model, c.opts)
	if item == nil || len(errs) > 0 {
		return
	}
	op := item.GetOperations().GetOrZero(strings.ToLower(req.Method))
	if op == nil || op.Responses == nil {
		return
	}
	r := op.Responses.Codes.GetOrZero(strconv.Itoa(res.StatusCode))
	if r == nil || r.Content == nil {
		return
	}
	if _, ok := r.Content.Get(mt); ok {
		return
	}
	major, _, _ := strings.Cut(mt, "/")
	for _, rng := range []string{major + "/*", "*/*"} {
		if _, ok := r.Content.Get(rng); ok {
			res.Header.Set("Content-Type", rng)
			return
		}
	}
}

func problemType(body []byte) string {
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &p)
	return p.Type
}

func describeError(e *liberrors.ValidationError) string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Reason != "" && e.Reason != e.Message {
		b.WriteString(": " + e.Reason)
	}
	for _, f := range e.SchemaValidationErrors {
		loc := f.FieldPath
		if loc == "" {
			loc = "/" + strings.Join(f.InstancePath, "/")
		}
		fmt.Fprintf(&b, "; %s: %s", loc, f.Reason)
	}
	return b.String()
}

func describeErrors(errs []*liberrors.ValidationError) string {
	var out []string
	for _, e := range errs {
		out = append(out, describeError(e))
	}
	return strings.Join(out, "\n")
}

func countMismatches(ms []mismatch) int {
	n := 0
	for _, m := range ms {
		n += m.count
	}
	return n
}

func formatMismatches(ms []mismatch) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "  %s %s → %s (×%d): %s\n", m.method, m.path, m.status, m.count, m.what)
	}
	return b.String()
}

// TestOpenAPIContractCatchesWrongResponses feeds the check responses that
// break the document in one way each, and one that does not: the check
// that validates the suite's traffic can fail, and fails for the reason.
func TestOpenAPIContractCatchesWrongResponses(t *testing.T) {
	c := contract(t)
	routes := routeMatchers(web.NewServer(web.Deps{}))
	goodUser := `{"username":"ada","display_name":"Ada","role":"admin","disabled":false,"version":3,` +
		`"created_at":"2026-03-02T09:00:00Z","updated_at":"2026-03-02T09:00:00Z","preferences":{"reveal_media":false}}`
	problem := func(slug string, status int) string {
		return fmt.Sprintf(`{"type":"https://casefile.dev/problems/%s","title":"t","status":%d,"request_id":"0123456789abcdef"}`, slug, status)
	}
	jsonHeader := func(kv ...string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	problemHeader := http.Header{"Content-Type": {"application/problem+json"}, "X-Request-Id": {"0123456789abcdef"}}
	tests := []struct {
		name string
		ex   apiExchange
		want string // a part of the mismatch; "" for none
	}{
		{"a conforming answer passes",
			apiExchange{method: "GET", target: "/api/v1/me", status: 200, header: jsonHeader("ETag", `"3"`), body: []byte(goodUser)}, ""},
		{"a conforming problem passes",
			apiExchange{method: "GET", target: "/api/v1/users/nobody", status: 404, header: problemHeader, body: []byte(problem("not-found", 404))}, ""},
		{"a Markdown export passes (the route of {id}.md, not {id})",
			apiExchange{method: "GET", target: "/api/v1/cases/CF-2026-1.md", status: 200,
				header: http.Header{"Content-Type": {"text/markdown; charset=utf-8"}, "Content-Disposition": {`attachment; filename="CF-2026-1.md"`}},
				body:   []byte("# CF-2026-1\n")}, ""},
		{"a download of any type passes",
			apiExchange{method: "GET", target: "/api/v1/cases/CF-2026-1/evidence/1/file", status: 200,
				header: http.Header{"Content-Type": {"image/png"}, "Content-Disposition": {`attachment; filename*=UTF-8''a.png`},
					"X-Content-Sha256": {strings.Repeat("ab", 32)}}, body: []byte("\x89PNG")}, ""},
		{"an unrouted request without a token passes as 401",
			apiExchange{method: "GET", target: "/api/v1/nowhere", status: 401, header: problemHeader, body: []byte(problem("unauthenticated", 401))}, ""},
		{"a required field missing",
			apiExchange{method: "GET", target: "/api/v1/me", status: 200, header: jsonHeader("ETag", `"3"`),
				body: []byte(strings.Replace(goodUser, `"role":"admin",`, "", 1))}, "role"},
		{"a value outside its enum",
			apiExchange{method: "GET", target: "/api/v1/me", status: 200, header: jsonHeader("ETag", `"3"`),
				body: []byte(strings.Replace(goodUser, `"admin"`, `"superuser"`, 1))}, "role"},
		{"a field the document does not declare",
			apiExchange{method: "GET", target: "/api/v1/me", status: 200, header: jsonHeader("ETag", `"3"`),
				body: []byte(strings.Replace(goodUser, `"disabled":false`, `"disabled":false,"password_hash":"x"`, 1))}, "password_hash"},
		{"a time that is no date-time",
			apiExchange{method: "GET", target: "/api/v1/me", status: 200, header: jsonHeader("ETag", `"3"`),
				body: []byte(strings.Replace(goodUser, `"2026-03-02T09:00:00Z"`, `"yesterday"`, 1))}, "created_at"},
		{"a required header missing",
			apiExchange{method: "GET", target: "/api/v1/me", status: 200, header: jsonHeader(), body: []byte(goodUser)}, "ETag"},
		{"a status the operation does not document",
			apiExchange{method: "GET", target: "/api/v1/me", status: 418, header: problemHeader, body: []byte(problem("internal", 418))}, "418"},
		{"a problem of the wrong type for its status",
			apiExchange{method: "GET", target: "/api/v1/users/nobody", status: 404, header: problemHeader, body: []byte(problem("forbidden", 404))}, "type"},
		{"JSON where the document says problem+json",
			apiExchange{method: "GET", target: "/api/v1/users/nobody", status: 404, header: jsonHeader(), body: []byte(problem("not-found", 404))}, "application/json"},
		{"a list without its envelope",
			apiExchange{method: "GET", target: "/api/v1/users", status: 200, header: jsonHeader(), body: []byte(`[` + goodUser + `]`)}, "array"},
		{"an unrouted request answered with something else than a problem",
			apiExchange{method: "GET", target: "/api/v1/nowhere", status: 404, header: jsonHeader(), body: []byte(`{"error":"no"}`)}, "no Problem"},
		{"an unrouted request answered 200",
			apiExchange{method: "GET", target: "/api/v1/nowhere", status: 200, header: jsonHeader(), body: []byte(`{}`)}, "404, 405"},
		{"an export without its Content-Disposition",
			apiExchange{method: "GET", target: "/api/v1/cases/CF-2026-1.md", status: 200,
				header: http.Header{"Content-Type": {"text/markdown; charset=utf-8"}}, body: []byte("# CF-2026-1\n")}, "Content-Disposition"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.ex.reqHeader = http.Header{}
			got := c.check([]apiExchange{tc.ex}, routes)
			if tc.want == "" {
				assert.Empty(t, got, "%s", formatMismatches(got))
				return
			}
			require.NotEmpty(t, got, "the check accepted a wrong response")
			assert.Contains(t, formatMismatches(got), tc.want)
		})
	}
}

// TestOpenAPIHarnessRecordsAPIExchanges: harness.do hands every API
// exchange to the recorder, body included, and nothing else (pages are
// not the API); what it recorded is what the check judges.
func TestOpenAPIHarnessRecordsAPIExchanges(t *testing.T) {
	app := web.NewServer(web.Deps{})
	rec := &apiRecorder{routes: routeMatchers(app)} // no cleanup: this test judges the records itself
	h := &harness{app: app, api: rec}
	h.get(t, "/healthz", "")
	h.get(t, "/login", "")
	h.get(t, "/api/v1/me", "")
	h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: map[string]string{"username": "x"}})

	require.Len(t, rec.seen, 3, "the page /login is not recorded")
	assert.Equal(t, []string{"GET /healthz 200", "GET /api/v1/me 401", "POST /api/v1/auth/login 400"},
		[]string{rec.seen[0].method + " " + rec.seen[0].target + " " + strconv.Itoa(rec.seen[0].status),
			rec.seen[1].method + " " + rec.seen[1].target + " " + strconv.Itoa(rec.seen[1].status),
			rec.seen[2].method + " " + rec.seen[2].target + " " + strconv.Itoa(rec.seen[2].status)})
	assert.JSONEq(t, `{"status":"ok"}`, string(rec.seen[0].body))
	c := contract(t)
	assert.Empty(t, c.check(rec.seen, rec.routes), "real answers fit")

	// The same exchange with a body the document does not allow fails.
	wrong := rec.seen[0]
	wrong.body = []byte(`{"status":"fine"}`)
	assert.NotEmpty(t, c.check([]apiExchange{wrong}, rec.routes))
}
