package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/internal/errs"
)

// CSV answers. Every CSV route sends its rows through sendCSV: RFC 4180
// (encoding/csv: fields with commas, quotes or line ends are quoted, and
// lines end in CRLF), UTF-8 without a byte-order mark, as an attachment,
// with every cell defused against spreadsheet formula injection.
//
// A CSV that was cut short says so in headers, not in its rows (a trailing
// note would be a malformed row to every parser): X-Total-Count is how
// many rows matched, X-Truncated "true" when fewer were sent.

// wantsCSV reports whether a list or report route should answer CSV:
// ?format=csv, or no format and an Accept header that asks for text/csv.
// Another format is refused.
func wantsCSV(c *fiber.Ctx) (bool, error) {
	switch f := c.Query("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
		return strings.Contains(strings.ToLower(c.Get(fiber.HeaderAccept)), "text/csv"), nil
	}
	return false, &errs.Error{Code: errs.Invalid, Message: "unknown format",
		Fields: []errs.FieldError{{Field: "format", Message: "must be json or csv"}}}
}

// csvCell defuses a cell for spreadsheets: a cell that begins with =, +,
// -, @, a tab or a carriage return is read by Excel, LibreOffice and
// Google Sheets as a formula (or the start of one), so it gets a leading
// apostrophe, which they show as text (OWASP's advice). Invalid UTF-8 is
// replaced, so the file is UTF-8 whatever the data held.
func csvCell(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// sendCSV writes header and rows as a CSV attachment named filename.
// total is how many rows matched (rows may hold fewer: a capped export).
func sendCSV(c *fiber.Ctx, filename string, header []string, rows [][]string, total int) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	line := make([]string, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i := range line {
			line[i] = ""
			if i < len(r) {
				line[i] = csvCell(r[i])
			}
		}
		if err := w.Write(line); err != nil {
			return fmt.Errorf("web: csv: %w", err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("web: csv: %w", err)
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, attachment(filename))
	c.Set("X-Total-Count", strconv.Itoa(total))
	if len(rows) < total {
		c.Set("X-Truncated", "true")
	}
	return c.Send(buf.Bytes())
}

// attachment is a Content-Disposition for a download. The names come
// from keys and fixed words; anything else is dropped, so no quote or
// line end can reach the header.
func attachment(filename string) string {
	safe := strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return -1
	}, filename)
	if safe == "" || safe[0] == '.' {
		safe = "export" + safe
	}
	return `attachment; filename="` + safe + `"`
}
