// Package errstest has the assertions on errs.Error that tests of every
// domain package share.
package errstest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/errs"
)

// As fails unless err is an *errs.Error, and returns it.
func As(t testing.TB, err error) *errs.Error {
	t.Helper()
	require.Error(t, err)
	var e *errs.Error
	require.True(t, errors.As(err, &e), "not an *errs.Error: %v", err)
	return e
}

// Require fails unless err carries code, and returns it.
func Require(t testing.TB, err error, code errs.Code) *errs.Error {
	t.Helper()
	e := As(t, err)
	require.Equal(t, code, e.Code, "error: %v", err)
	return e
}

// Fields fails unless err is a validation error, and lists its fields.
func Fields(t testing.TB, err error) []string {
	t.Helper()
	e := Require(t, err, errs.Invalid)
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Field)
	}
	return names
}
