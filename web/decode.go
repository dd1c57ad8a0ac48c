package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/internal/errs"
)

// decodeJSON decodes the body into dst strictly: JSON content type, no
// unknown fields, exactly one value. Field type errors name the field.
func decodeJSON(c *fiber.Ctx, dst any) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return &errs.Error{Code: errs.Invalid, Message: "the body must be JSON", Fields: []errs.FieldError{{Field: "Content-Type", Message: "must be application/json"}}}
	}
	if len(c.Body()) > MaxJSONBody {
		return errs.E(errs.PayloadTooLarge, "JSON bodies are limited to %d bytes", MaxJSONBody)
	}
	if !utf8.Valid(c.Body()) {
		return errs.E(errs.Invalid, "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.E(errs.Invalid, "the body must hold exactly one JSON value")
	}
	if k, ok := duplicateKey(c.Body()); ok {
		return &errs.Error{Code: errs.Invalid, Message: "a key appears twice in one object", Fields: []errs.FieldError{{Field: k, Message: "appears more than once"}}}
	}
	return nil
}

// duplicateKey returns a key that some object of the well-formed JSON b
// holds twice. encoding/json would silently keep the last, so the client
// (or a proxy in front) and the server could read different requests.
func duplicateKey(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var open []map[string]bool // keys of each open object; nil for an array
	wantKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if k, ok := tok.(string); ok && wantKey {
			if open[len(open)-1][k] {
				return k, true
			}
			open[len(open)-1][k] = true
			wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			open = append(open, map[string]bool{})
		case json.Delim('['):
			open = append(open, nil)
		case json.Delim('}'), json.Delim(']'):
			open = open[:len(open)-1]
		}
		wantKey = len(open) > 0 && open[len(open)-1] != nil
	}
}

func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return &errs.Error{Code: errs.Invalid, Message: "a field has the wrong type", Fields: []errs.FieldError{{Field: field, Message: "must be " + typ.Type.String()}}}
	case errors.As(err, &syn):
		return errs.E(errs.Invalid, "malformed JSON at byte %d", syn.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &errs.Error{Code: errs.Invalid, Message: "unknown field", Fields: []errs.FieldError{{Field: name, Message: "is not a field of this request"}}}
	case errors.Is(err, io.EOF):
		return errs.E(errs.Invalid, "the body is empty")
	}
	return errs.E(errs.Invalid, "malformed JSON: %s", err.Error())
}

// Page bounds of every list.
const (
	defaultLimit = 50
	maxLimit     = 200
	maxCursorLen = 512
)

// pageParams reads limit and cursor.
func pageParams(c *fiber.Ctx, f *errs.Fields) (limit int, cursor string) {
	limit = defaultLimit
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			f.Add("limit", "must be a whole number from 1 to %d", maxLimit)
		} else {
			limit = n
		}
	}
	cursor = c.Query("cursor")
	if len(cursor) > maxCursorLen {
		f.Add("cursor", "is not a cursor this server issued")
		cursor = ""
	}
	return limit, cursor
}

// timeParam reads an optional RFC 3339 time.
func timeParam(c *fiber.Ctx, name string, f *errs.Fields) time.Time {
	s := c.Query(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		f.Add(name, "must be an RFC 3339 time such as 2026-01-31T09:00:00Z")
	}
	return t.UTC()
}

// ifMatch reads the version a write expects. Missing is 428.
func ifMatch(c *fiber.Ctx) (int64, error) {
	h := strings.TrimSpace(c.Get(fiber.HeaderIfMatch))
	if h == "" {
		return 0, errs.E(errs.PreconditionNeeded, "send If-Match with the ETag you read, so concurrent edits are not lost")
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.ParseInt(h, 10, 64)
	if err != nil || v < 0 { // 0 is the ETag of a taxonomy never changed
		return 0, &errs.Error{Code: errs.Invalid, Message: "malformed If-Match", Fields: []errs.FieldError{{Field: "If-Match", Message: "must be an ETag this server issued"}}}
	}
	return v, nil
}

func setETag(c *fiber.Ctx, version int64) {
	c.Set(fiber.HeaderETag, fmt.Sprintf(`"%d"`, version))
}

// list is the envelope of every list response.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
	Total      int64  `json:"total"`
}
