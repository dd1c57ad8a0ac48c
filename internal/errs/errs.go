// Package errs is Casefile's one error model.
//
// Domain packages and stores return *Error values carrying a Code; the web
// layer maps each Code to an HTTP status and a stable problem+json type.
// Anything that is not an *Error is treated as internal: it is logged and its
// text is never shown to a client.
package errs

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Code classifies an error for the caller. The string values double as the
// problem type slugs of the HTTP API, so they must never change.
type Code string

const (
	Invalid            Code = "validation"
	Unauthenticated    Code = "unauthenticated"
	Forbidden          Code = "forbidden"
	NotFound           Code = "not-found"
	Conflict           Code = "conflict"
	PreconditionFailed Code = "precondition-failed"
	PreconditionNeeded Code = "precondition-required"
	RateLimited        Code = "rate-limited"
	PayloadTooLarge    Code = "payload-too-large"
	Internal           Code = "internal"
)

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error a client may be told about.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	// RetryAfter is set on RateLimited errors.
	RetryAfter time.Duration
	// Err is the underlying cause, kept for logs only.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error with a formatted message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an error that keeps cause for logs but shows only message.
func Wrap(code Code, cause error, message string) *Error {
	return &Error{Code: code, Message: message, Err: cause}
}

// CodeOf reports the Code of err, Internal for anything unclassified.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// Fields collects field errors during validation. The zero value is ready.
type Fields []FieldError

// Add records a problem with field.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Text checks a free-text field: valid UTF-8, at most max bytes, no NUL,
// and not blank when required.
func (f *Fields) Text(field, v string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		f.Add(field, "is required")
	case !utf8.ValidString(v):
		f.Add(field, "must be valid UTF-8")
	case len(v) > max:
		f.Add(field, "must be at most %d bytes", max)
	case strings.ContainsRune(v, 0):
		f.Add(field, "must not contain NUL characters")
	}
}

// Err returns an Invalid error listing every field, or nil if there are none.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "the request has invalid fields", Fields: f}
}
