package web

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"go.yaml.in/yaml/v3"

	"casefile.dev/casefile/internal/errs"
)

// openAPIYAML is the OpenAPI 3.1 document of the HTTP API. It is kept as
// YAML, which reads and diffs better than JSON, and served as JSON.
//
//go:embed openapi.yaml
var openAPIYAML string

// handleOpenAPI serves the OpenAPI document at /api/openapi.json. The YAML
// is converted once, when the server is built; the document is public and
// cacheable, and changes only with the binary. A document that does not
// convert is logged at start-up and answered as an internal error, rather
// than keeping the rest of the API from starting (the tests convert it on
// every run, so it does not ship broken).
func handleOpenAPI(log *slog.Logger) fiber.Handler {
	doc, err := openAPIJSON(openAPIYAML)
	if err != nil {
		log.Error("the embedded OpenAPI document does not convert", "err", err.Error())
		return func(*fiber.Ctx) error {
			return errs.Wrap(errs.Internal, err, "the OpenAPI document is broken")
		}
	}
	sum := sha256.Sum256(doc)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return func(c *fiber.Ctx) error {
		// securityHeaders set no-store for everything; this one may be kept.
		c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
		c.Set(fiber.HeaderETag, etag)
		if c.Get(fiber.HeaderIfNoneMatch) == etag {
			return c.SendStatus(fiber.StatusNotModified)
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(doc)
	}
}

// openAPIJSON converts a YAML document to JSON, keeping the order of every
// mapping (encoding through map[string]any would sort the keys, and the
// paths would no longer read in the document's order).
func openAPIJSON(src string) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, &root); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: a document holds one value", n.Line)
		}
		return writeJSON(buf, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias)
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				return fmt.Errorf("line %d: keys must be plain scalars", k.Line)
			}
			if i > 0 {
				buf.WriteByte(',')
			}
			key, err := json.Marshal(k.Value)
			if err != nil {
				return err
			}
			buf.Write(key)
			buf.WriteByte(':')
			if err := writeJSON(buf, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		if n.Tag == "!!str" || n.Tag == "!!timestamp" {
			b, err := json.Marshal(n.Value) // a date stays the text it was written as
			if err != nil {
				return err
			}
			buf.Write(b)
			return nil
		}
		// The YAML library resolves the scalar's type (string, int, float,
		// bool, null); encoding/json writes it, refusing what JSON cannot
		// hold (.inf, .nan).
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		buf.Write(b)
		return nil
	}
	return fmt.Errorf("line %d: unexpected YAML node kind %d", n.Line, n.Kind)
}
