package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "defaults", args: nil},
		{name: "reuse with a work directory", args: []string{"-work", "/tmp/w", "-reuse"}},
		{name: "reuse without one", args: []string{"-reuse"}, wantErr: "-reuse needs -work"},
		{name: "unknown engine", args: []string{"-engines", "casefile,solr"}, wantErr: `unknown engine "solr"`},
		{name: "raw Bleve alone", args: []string{"-engines", "bleve"}, wantErr: "needs casefile"},
		{name: "tiny corpus", args: []string{"-docs", "10"}, wantErr: "-docs must be at least 100"},
		{name: "back to back", args: []string{"-pause", "0"}},
		{name: "negative pause", args: []string{"-pause", "-1ms"}, wantErr: "-pause must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(append([]string{"casefile-bench"}, tc.args...), io.Discard)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}
