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
	assert.Equal(t, "", c.PublicURL)
	assert.False(t, c.WebhookAllowInsecure, "webhooks need https and public addresses unless told otherwise")
	assert.Equal(t, 10*time.Second, c.WebhookPollInterval)
	assert.Equal(t, time.Minute, c.SLACheckInterval)
	assert.Zero(t, c.IndexShards, "one shard per core")
	assert.False(t, c.SyncEveryCommit, "the embedded store flushes at checkpoints")
}

func TestParseSyncEveryCommit(t *testing.T) {
	c, err := Parse([]string{"--sync-every-commit"}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.True(t, c.SyncEveryCommit)
	c, err = Parse(nil, env(map[string]string{"CASEFILE_SYNC_EVERY_COMMIT": "true"}), io.Discard)
	require.NoError(t, err)
	assert.True(t, c.SyncEveryCommit)
}

func TestParseIndexShards(t *testing.T) {
	c, err := Parse([]string{"--index-shards", "4"}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 4, c.IndexShards)
	c, err = Parse(nil, env(map[string]string{"CASEFILE_INDEX_SHARDS": "1"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 1, c.IndexShards)
}

func TestParseWebhookSettings(t *testing.T) {
	t.Run("env", func(t *testing.T) {
		c, err := Parse(nil, env(map[string]string{"CASEFILE_PUBLIC_URL": "https://cf.example.com/", "CASEFILE_WEBHOOK_ALLOW_INSECURE": "true",
			"CASEFILE_WEBHOOK_POLL_INTERVAL": "30s", "CASEFILE_SLA_CHECK_INTERVAL": "5m"}), io.Discard)
		require.NoError(t, err)
		assert.Equal(t, "https://cf.example.com", c.PublicURL, "the trailing slash is dropped")
		assert.True(t, c.WebhookAllowInsecure)
		assert.Equal(t, 30*time.Second, c.WebhookPollInterval)
		assert.Equal(t, 5*time.Minute, c.SLACheckInterval)
	})
	t.Run("bare_switch_flag", func(t *testing.T) {
		c, err := Parse([]string{"--webhook-allow-insecure", "--public-url", "http://localhost:8080/casefile"}, env(nil), io.Discard)
		require.NoError(t, err)
		assert.True(t, c.WebhookAllowInsecure)
		assert.Equal(t, "http://localhost:8080/casefile", c.PublicURL)
	})
	t.Run("flag_false_beats_env_true", func(t *testing.T) {
		c, err := Parse([]string{"--webhook-allow-insecure=false"}, env(map[string]string{"CASEFILE_WEBHOOK_ALLOW_INSECURE": "true"}), io.Discard)
		require.NoError(t, err)
		assert.False(t, c.WebhookAllowInsecure)
	})
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
		{"relative public url", []string{"--public-url", "casefile.example.com"}},
		{"public url with a query", []string{"--public-url", "https://cf.example.com/?a=1"}},
		{"ftp public url", []string{"--public-url", "ftp://cf.example.com"}},
		{"switch not a bool", []string{"--webhook-allow-insecure=maybe"}},
		{"poll interval too short", []string{"--webhook-poll-interval", "10ms"}},
		{"sla interval not a duration", []string{"--sla-check-interval", "often"}},
		{"too many shards", []string{"--index-shards", "17"}},
		{"shards not a number", []string{"--index-shards", "two"}},
		{"sync not a bool", []string{"--sync-every-commit=often"}},
		{"stray argument", []string{"extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.args, env(nil), io.Discard)
			assert.Error(t, err)
		})
	}
}
