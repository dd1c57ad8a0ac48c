package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/cases"
)

// fuzzRequest has the kinds of field the API's requests have, the
// taxonomy (maps, nested structs, durations read as text) among them.
type fuzzRequest struct {
	Title    string            `json:"title"`
	Count    int               `json:"count"`
	Ratio    *float64          `json:"ratio"`
	Done     bool              `json:"done"`
	At       time.Time         `json:"at"`
	Tags     []string          `json:"tags"`
	Detail   map[string]string `json:"detail"`
	Taxonomy *cases.Taxonomy   `json:"taxonomy"`
	Nested   struct {
		ID    string `json:"id"`
		Items []struct {
			N int8 `json:"n"`
		} `json:"items"`
	} `json:"nested"`
}

// fuzzEncodings are the Content-Encoding values the fuzzer picks from:
// Fiber's c.Body inflates a compressed body before decodeJSON sees it.
var fuzzEncodings = []string{"", "gzip", "deflate", "br", "identity", "gzip, deflate"}

// FuzzDecodeJSON drives decodeJSON through a Fiber app with the server's
// error handler: whatever the body, content type or encoding, nothing
// panics and nothing is a 500. A body is accepted only if it is one
// well-formed JSON value of valid UTF-8, within MaxJSONBody, without a key
// twice in an object; everything else is a validation problem (400), or
// payload-too-large (413) for a body over MaxJSONBody.
//
// CI: go test ./web -run '^$' -fuzz '^FuzzDecodeJSON$' -fuzztime 10s
func FuzzDecodeJSON(f *testing.F) {
	const jsonType = "application/json"
	for _, s := range []struct {
		ctype string
		enc   uint8
		body  string
	}{
		{jsonType, 0, `{"title":"ban evasion","count":3,"ratio":0.5,"done":true,"at":"2026-01-31T09:00:00Z","tags":["a"],"detail":{"k":"v"},"nested":{"id":"x","items":[{"n":1}]}}`},
		{jsonType, 0, `{"taxonomy":{"policy_areas":["spam"],"sla":{"sev1":{"ack":"4h","resolve":"30d"}},"ladder":{"steps":[]},"subcategories":{"product":["bug"]}}}`},
		{jsonType + "; charset=utf-8", 0, `{}`},
		{"Application/JSON", 0, `{"title":"x"}`},
		{"text/plain", 0, `{}`},
		{"", 0, `{}`},
		{"application/json; charset", 0, `{}`},
		{jsonType, 0, ``},
		{jsonType, 0, `null`},
		{jsonType, 0, `[]`},
		{jsonType, 0, `{"title":"a","title":"b"}`},
		{jsonType, 0, `{"detail":{"k":"1","k":"2"}}`},
		{jsonType, 0, `{"nested":{"items":[{"n":1,"n":2}]}}`},
		{jsonType, 0, "{\"title\":\"\xff\"}"},
		{jsonType, 0, "{\"title\":\"\xed\xa0\x80\"}"},
		{jsonType, 0, `{"title":"\ud800"}`},
		{jsonType, 0, `{"title":"a\u0000b"}`},
		{jsonType, 0, `{"count":1e400}`},
		{jsonType, 0, `{"count":9223372036854775808}`},
		{jsonType, 0, `{"nested":{"items":[{"n":128}]}}`},
		{jsonType, 0, `{"at":"yesterday"}`},
		{jsonType, 0, `{"taxonomy":{"sla":{"sev1":{"ack":"-1h"}}}}`},
		{jsonType, 0, `{"unknown":1}`},
		{jsonType, 0, `{"TITLE":"case folded"}`},
		{jsonType, 0, `{} {}`},
		{jsonType, 0, `{"title":"x"} ]`},
		{jsonType, 0, strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001)},
		{jsonType, 0, `{"detail":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat("}", 201)},
		{jsonType, 0, `{"title":"` + strings.Repeat("x", MaxJSONBody) + `"}`},
		{jsonType, 1, gzipped(`{"title":"a"}`)},
		{jsonType, 1, gzipped(strings.Repeat(" ", MaxJSONBody) + "{}")},
		{jsonType, 1, `{"title":"not gzip"}`},
		{jsonType, 3, `{}`},
	} {
		f.Add(s.ctype, s.enc, []byte(s.body))
	}

	app := fiber.New(fiber.Config{
		ErrorHandler:          errorHandler(slog.New(slog.NewTextHandler(io.Discard, nil))),
		BodyLimit:             4 * MaxJSONBody,
		DisableStartupMessage: true,
		Immutable:             true,
		JSONEncoder:           json.Marshal,
		JSONDecoder:           json.Unmarshal,
	})
	app.Post("/decode", func(c *fiber.Ctx) error {
		var req fuzzRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})

	f.Fuzz(func(t *testing.T, ctype string, enc uint8, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/decode", bytes.NewReader(body))
		if !validHeaderValue(ctype) {
			ctype = jsonType
		}
		r.Header.Set("Content-Type", ctype)
		if e := fuzzEncodings[int(enc)%len(fuzzEncodings)]; e != "" {
			r.Header.Set("Content-Encoding", e)
		}
		res, err := app.Test(r, -1)
		if err != nil {
			t.Fatalf("app.Test: %v", err)
		}
		got, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()

		switch res.StatusCode {
		case fiber.StatusNoContent:
			plain := fuzzEncodings[int(enc)%len(fuzzEncodings)] == "" || fuzzEncodings[int(enc)%len(fuzzEncodings)] == "identity"
			if !plain {
				return // the body decodeJSON read is the inflated one
			}
			switch {
			case len(body) > MaxJSONBody:
				t.Fatalf("a body of %d bytes was accepted", len(body))
			case !utf8.Valid(body):
				t.Fatalf("invalid UTF-8 was accepted: %q", body)
			case !json.Valid(body):
				t.Fatalf("malformed JSON was accepted: %q", body)
			case hasDuplicateKey(body):
				t.Fatalf("a duplicate key was accepted: %q", body)
			}
		case fiber.StatusBadRequest:
			requireFuzzProblem(t, got, res, "validation", body)
		case fiber.StatusRequestEntityTooLarge:
			requireFuzzProblem(t, got, res, "payload-too-large", body)
		default:
			t.Fatalf("status %d for %.200q (content type %q): %s", res.StatusCode, body, ctype, got)
		}
	})
}

func gzipped(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.String()
}

// validHeaderValue reports whether net/http would send v as a header value.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

func requireFuzzProblem(t *testing.T, got []byte, res *http.Response, code string, body []byte) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with content type %q", res.StatusCode, ct)
	}
	var p problem
	if err := json.Unmarshal(got, &p); err != nil {
		t.Fatalf("problem does not decode: %v: %s", err, got)
	}
	if p.Type != problemBase+code || p.Status != res.StatusCode || p.Detail == "" {
		t.Fatalf("for %.200q: want a %s problem, got %+v", body, code, p)
	}
}

// hasDuplicateKey reports whether some object of the well-formed JSON b
// has a key twice, independently of decodeJSON's check: every key is
// followed by the one colon outside strings, and decoding into maps keeps
// one entry per distinct key.
func hasDuplicateKey(b []byte) bool {
	colons, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && c == ':':
			colons++
		}
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return false
	}
	var keys func(any) int
	keys = func(v any) int {
		n := 0
		switch v := v.(type) {
		case map[string]any:
			n += len(v)
			for _, e := range v {
				n += keys(e)
			}
		case []any:
			for _, e := range v {
				n += keys(e)
			}
		}
		return n
	}
	return keys(v) < colons
}
