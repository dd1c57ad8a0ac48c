package errs

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFieldsText(t *testing.T) {
	tests := []struct {
		name     string
		v        string
		required bool
		want     string // "" for valid
	}{
		{"blank_required", "  ", true, "is required"},
		{"blank_optional", "", false, ""},
		{"invalid_utf8", "a\xffb", false, "must be valid UTF-8"},
		{"too_long", strings.Repeat("x", 11), false, "must be at most 10 bytes"},
		{"nul", "a\x00b", false, "must not contain NUL characters"},
		{"fine", "ok", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Fields
			f.Text("title", tt.v, 10, tt.required)
			if tt.want == "" {
				assert.NoError(t, f.Err())
				return
			}
			var e *Error
			assert.True(t, errors.As(f.Err(), &e))
			assert.Equal(t, Invalid, e.Code)
			assert.Equal(t, []FieldError{{Field: "title", Message: tt.want}}, e.Fields)
		})
	}
}

func TestCodeOf(t *testing.T) {
	assert.Equal(t, Code(""), CodeOf(nil))
	assert.Equal(t, Internal, CodeOf(errors.New("driver exploded")), "unclassified errors are internal")
	assert.Equal(t, NotFound, CodeOf(fmt.Errorf("wrapped: %w", E(NotFound, "case not found"))))
	assert.True(t, Is(Wrap(Conflict, errors.New("dup"), "taken"), Conflict))
	assert.Equal(t, "conflict: taken: dup", Wrap(Conflict, errors.New("dup"), "taken").Error())
}
