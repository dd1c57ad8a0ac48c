package config

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", c.Addr)
	assert.Equal(t, "./data", c.DataDir)
	assert.Equal(t, "", c.MongoURI)
	assert.Equal(t, "casefile", c.Database)
	assert.Equal(t, "data/jwt_ed25519.pem", c.JWTKeyFile)
	assert.Equal(t, slog.LevelInfo, c.LogLevel)
	assert.Equal(t, 20*time.Second, c.ShutdownTimeout)
	assert.Empty(t, c.TrustedProxies)
}

func TestParseFlagBeatsEnvBeatsDefault(t *testing.T) {
	e := env(map[string]string{
		"CASEFILE_ADDR":            "0.0.0.0:9000",
		"CASEFILE_DATA_DIR":        "/srv/cf",
		"MONGODB_URI":              "mongodb://db:27017",
		"CASEFILE_LOG_LEVEL":       "debug",
		"CASEFILE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5",
		"CASEFILE_ADMIN_PASSWORD":  "from-env-only",
	})
	c, err := Parse([]string{"--addr", "127.0.0.1:1"}, e, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1", c.Addr, "flag wins")
	assert.Equal(t, "/srv/cf", c.DataDir, "env beats default")
	assert.Equal(t, "/srv/cf/jwt_ed25519.pem", c.JWTKeyFile, "key lives in the data dir by default")
	assert.Equal(t, "mongodb://db:27017", c.MongoURI)
	assert.Equal(t, slog.LevelDebug, c.LogLevel)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.5/32")}, c.TrustedProxies)
	assert.Equal(t, "from-env-only", c.AdminPassword)
}

func TestParseRejectsBadValues(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"--nope"}},
		{"bad log level", []string{"--log-level", "loud"}},
		{"bad proxy", []string{"--trusted-proxies", "not-an-ip"}},
		{"bad duration", []string{"--shutdown-timeout", "soon"}},
		{"negative duration", []string{"--shutdown-timeout", "-1s"}},
		{"dotted database", []string{"--database", "a.b"}},
		{"empty data dir", []string{"--data", ""}},
		{"stray argument", []string{"extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.args, env(nil), io.Discard)
			assert.Error(t, err)
		})
	}
}
