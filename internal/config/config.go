// Package config reads Casefile's settings from flags and CASEFILE_*
// environment variables. A flag given on the command line wins over the
// environment, which wins over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of `casefile serve`.
type Config struct {
	Addr            string
	DataDir         string
	MongoURI        string
	Database        string
	JWTKeyFile      string
	LogLevel        slog.Level
	TrustedProxies  []netip.Prefix
	ShutdownTimeout time.Duration
	MaxAttachment   int64
	// PublicURL is the base URL people open Casefile at, without a
	// trailing slash ("" when unset); links sent outside (webhooks) use it.
	PublicURL string
	// WebhookAllowInsecure lets webhooks use http:// and loopback or
	// private addresses (tests, local receivers); off, they are refused.
	WebhookAllowInsecure bool
	// WebhookPollInterval is how often the webhook dispatcher looks for
	// other instances' writes; SLACheckInterval how often breached SLAs are.
	WebhookPollInterval time.Duration
	SLACheckInterval    time.Duration
	// IndexShards is how many Bleve indexes the search index is split
	// into (0: one per core; see search.Options).
	IndexShards int
	// SyncEveryCommit makes the embedded store flush its log to disk at
	// every commit (SQLite synchronous=FULL) rather than at checkpoints
	// (NORMAL); see store.SyncEveryCommit.
	SyncEveryCommit bool
	// AdminPassword sets the first admin's password; environment only, so
	// it never shows in a process list.
	AdminPassword string
}

// setting is one configurable value: its flag, env var, default and help.
type setting struct {
	flag, env, def, help string
}

// switches are the settings that may be given as a bare flag
// (--webhook-allow-insecure for --webhook-allow-insecure=true).
var switches = map[string]bool{"webhook-allow-insecure": true, "sync-every-commit": true}

var settings = []setting{
	{"addr", "CASEFILE_ADDR", "127.0.0.1:8080", "listen address"},
	{"data", "CASEFILE_DATA_DIR", "./data", "data directory (embedded database, keys)"},
	{"mongodb-uri", "MONGODB_URI", "", "MongoDB connection string; empty runs the embedded store"},
	{"database", "CASEFILE_DATABASE", "casefile", "database name"},
	{"jwt-key-file", "CASEFILE_JWT_KEY_FILE", "", "Ed25519 private key (PKCS#8 PEM) for access tokens; default <data>/jwt_ed25519.pem, created if missing"},
	{"log-level", "CASEFILE_LOG_LEVEL", "info", "log level: debug, info, warn, error"},
	{"trusted-proxies", "CASEFILE_TRUSTED_PROXIES", "", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed"},
	{"shutdown-timeout", "CASEFILE_SHUTDOWN_TIMEOUT", "20s", "how long to drain requests on SIGINT/SIGTERM"},
	{"max-attachment-mb", "CASEFILE_MAX_ATTACHMENT_MB", "25", "largest evidence file accepted, in MiB"},
	{"public-url", "CASEFILE_PUBLIC_URL", "", "base URL people open Casefile at (https://casefile.example.com); webhook payloads link to it"},
	{"webhook-allow-insecure", "CASEFILE_WEBHOOK_ALLOW_INSECURE", "false", "let webhooks use http:// and loopback or private addresses (testing only: it opens the way to server-side request forgery)"},
	{"webhook-poll-interval", "CASEFILE_WEBHOOK_POLL_INTERVAL", "10s", "how often webhooks look for other instances' writes"},
	{"sla-check-interval", "CASEFILE_SLA_CHECK_INTERVAL", "1m", "how often breached SLAs are looked for (sla.breached webhooks)"},
	{"index-shards", "CASEFILE_INDEX_SHARDS", "0", "search index shards, searched in parallel (0: one per core, at most 16); changing it rebuilds the index"},
	{"sync-every-commit", "CASEFILE_SYNC_EVERY_COMMIT", "false", "embedded store: flush to disk at every commit, so that a power loss loses no acknowledged write (slower filing); off, a process crash loses nothing and a power loss the last moments"},
}

// Usage writes the settings table.
func Usage(w io.Writer) {
	fmt.Fprintln(w, "settings (flag / environment variable / default):")
	for _, s := range settings {
		fmt.Fprintf(w, "  --%-18s %-26s %-16q %s\n", s.flag, s.env, s.def, s.help)
	}
	fmt.Fprintln(w, "  (env only)           CASEFILE_ADMIN_PASSWORD    first start: password of the admin user (else one is generated and printed once)")
}

// Parse reads the settings of `casefile serve` from args (without the
// program and subcommand names).
func Parse(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("casefile serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { Usage(out) }
	finish := Register(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return finish()
}

// Register adds every setting to fs, with environment values as defaults,
// so that other subcommands can add flags of their own. Call the returned
// function after fs.Parse.
func Register(fs *flag.FlagSet, getenv func(string) string) func() (Config, error) {
	vals := map[string]*string{}
	for _, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		if switches[s.flag] {
			v := def
			fs.Var(boolFlag{&v}, s.flag, s.help+" (env "+s.env+")")
			vals[s.flag] = &v
			continue
		}
		vals[s.flag] = fs.String(s.flag, def, s.help+" (env "+s.env+")")
	}
	return func() (Config, error) {
		c := Config{
			Addr:          *vals["addr"],
			DataDir:       *vals["data"],
			MongoURI:      *vals["mongodb-uri"],
			Database:      *vals["database"],
			JWTKeyFile:    *vals["jwt-key-file"],
			AdminPassword: getenv("CASEFILE_ADMIN_PASSWORD"),
		}
		var problems []error
		if c.DataDir == "" {
			problems = append(problems, errors.New("--data must not be empty"))
		}
		if c.JWTKeyFile == "" {
			c.JWTKeyFile = filepath.Join(c.DataDir, "jwt_ed25519.pem")
		}
		if c.Database == "" || strings.ContainsAny(c.Database, `/\. "$`) {
			problems = append(problems, fmt.Errorf("--database %q: must be a plain name", c.Database))
		}
		if err := c.LogLevel.UnmarshalText([]byte(*vals["log-level"])); err != nil {
			problems = append(problems, fmt.Errorf("--log-level: %w", err))
		}
		d, err := time.ParseDuration(*vals["shutdown-timeout"])
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Errorf("--shutdown-timeout %q: must be a positive duration", *vals["shutdown-timeout"]))
		}
		c.ShutdownTimeout = d
		mb, err := strconv.Atoi(*vals["max-attachment-mb"])
		if err != nil || mb < 1 || mb > 1024 {
			problems = append(problems, fmt.Errorf("--max-attachment-mb %q: must be a whole number from 1 to 1024", *vals["max-attachment-mb"]))
		}
		c.MaxAttachment = int64(mb) << 20
		c.TrustedProxies, err = ParsePrefixes(*vals["trusted-proxies"])
		if err != nil {
			problems = append(problems, fmt.Errorf("--trusted-proxies: %w", err))
		}
		if c.PublicURL, err = parsePublicURL(*vals["public-url"]); err != nil {
			problems = append(problems, fmt.Errorf("--public-url: %w", err))
		}
		if c.WebhookAllowInsecure, err = strconv.ParseBool(*vals["webhook-allow-insecure"]); err != nil {
			problems = append(problems, fmt.Errorf("--webhook-allow-insecure %q: must be true or false", *vals["webhook-allow-insecure"]))
		}
		if c.SyncEveryCommit, err = strconv.ParseBool(*vals["sync-every-commit"]); err != nil {
			problems = append(problems, fmt.Errorf("--sync-every-commit %q: must be true or false", *vals["sync-every-commit"]))
		}
		if c.IndexShards, err = strconv.Atoi(*vals["index-shards"]); err != nil || c.IndexShards < 0 || c.IndexShards > 16 {
			problems = append(problems, fmt.Errorf("--index-shards %q: must be a whole number from 0 to 16", *vals["index-shards"]))
		}
		for _, d := range []struct {
			flag string
			to   *time.Duration
		}{{"webhook-poll-interval", &c.WebhookPollInterval}, {"sla-check-interval", &c.SLACheckInterval}} {
			v, err := time.ParseDuration(*vals[d.flag])
			if err != nil || v < time.Second {
				problems = append(problems, fmt.Errorf("--%s %q: must be a duration of at least 1s", d.flag, *vals[d.flag]))
			}
			*d.to = v
		}
		return c, errors.Join(problems...)
	}
}

// boolFlag is a flag.Value that may be given bare (--flag means true),
// kept as text so that it goes through the same parsing as the env value.
type boolFlag struct{ v *string }

func (b boolFlag) String() string {
	if b.v == nil {
		return ""
	}
	return *b.v
}

func (b boolFlag) Set(s string) error {
	if _, err := strconv.ParseBool(s); err != nil {
		return errors.New("must be true or false")
	}
	*b.v = s
	return nil
}

func (b boolFlag) IsBoolFlag() bool { return true }

// parsePublicURL checks an absolute http(s) base URL without query or
// fragment and drops its trailing slash.
func parsePublicURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: must be an absolute http(s) URL such as https://casefile.example.com", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// ParsePrefixes reads a comma-separated list of IPs and CIDRs.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, err
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
