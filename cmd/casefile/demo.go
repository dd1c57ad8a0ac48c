package main

// `casefile demo`: seed a living dataset into an empty data dir, then
// serve it like `casefile serve`.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/config"
	"casefile.dev/casefile/internal/demo"
	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/wire"
)

const demoHelp = `usage: casefile demo [flags]

Seeds a demo dataset into --data, then serves it like casefile serve (every
serve flag works here too): users of every role, about 500 cases over the
last 90 days with evidence, notes, transitions and enforcements, 60
incidents with RCAs and action items, 20 postmortems taken through review
and published, and risks linking cases. Seeding takes a minute or two on
the embedded store and prints its progress.

Passwords: each demo user gets a random password, printed once when the
data is seeded; CASEFILE_DEMO_PASSWORD (12 characters or more) gives every
demo user that password instead.

Run it again on the same --data and it finds its dataset and just serves.
It seeds only an empty data dir: one holding anything else (even just the
admin a first casefile serve creates) is refused, and so is one where an
earlier seeding broke off (remove it and run again).

With the embedded store, no other casefile may run on --data meanwhile.

flags:`

// demoPasswordEnv gives every demo user one known password.
const demoPasswordEnv = "CASEFILE_DEMO_PASSWORD"

// demoCmd is `casefile demo`.
func demoCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("casefile demo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintln(stdout, demoHelp)
		fs.PrintDefaults()
	}
	def := demo.DefaultConfig(time.Time{})
	dc := def
	fs.Int64Var(&dc.Seed, "seed", def.Seed, "seed of the generator: the same seed and sizes make the same dataset")
	fs.IntVar(&dc.Cases, "cases", def.Cases, "cases to seed")
	fs.IntVar(&dc.Incidents, "incidents", def.Incidents, "incidents to seed")
	fs.IntVar(&dc.Postmortems, "postmortems", def.Postmortems, "postmortems to publish (a few more stay in draft and review)")
	fs.IntVar(&dc.Risks, "risks", def.Risks, "risks to register")
	fs.IntVar(&dc.Days, "days", def.Days, "days of history")
	seedOnly := fs.Bool("seed-only", false, "seed (when the data dir is empty) and exit without serving")
	own := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { own[f.Name] = true })
	finish := config.Register(fs, getenv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("casefile demo: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := finish()
	if err != nil {
		return err
	}
	// serve gets the serve flags given here, as given.
	var serveArgs []string
	fs.Visit(func(f *flag.Flag) {
		if !own[f.Name] {
			serveArgs = append(serveArgs, "--"+f.Name+"="+f.Value.String())
		}
	})
	dc.End = time.Now().UTC()
	if err := dc.Validate(); err != nil {
		return fmt.Errorf("casefile demo: %w", err)
	}
	if err := seedDemo(ctx, cfg, dc, getenv, stdout); err != nil {
		return err
	}
	if *seedOnly {
		return nil
	}
	return serve(ctx, serveArgs, getenv, &demoBanner{w: stdout})
}

// seedDemo seeds an empty data dir, or says why it does not.
func seedDemo(ctx context.Context, cfg config.Config, dc demo.Config, getenv func(string) string, stdout io.Writer) error {
	passwords, err := demoPasswords(getenv)
	if err != nil {
		return err
	}
	clock := fakeclock.New(dc.End)
	a, err := openWith(ctx, cfg, newLogger(stdout, max(cfg.LogLevel, slog.LevelWarn)), nil, func(wc *wire.Config) {
		wc.Now, wc.BulkLoad = clock.Now, true
	})
	if err != nil {
		return err
	}
	defer a.close(ctx)
	if err := a.syncIndex(ctx); err != nil {
		return err
	}
	st, m, err := demo.Check(ctx, a.db)
	if err != nil {
		return err
	}
	switch st {
	case demo.Seeded:
		fmt.Fprintf(stdout, "casefile demo: %s holds the demo dataset (seed %d, %d cases, seeded %s); not seeding again.\n"+
			"The passwords were shown when it was seeded.\n", cfg.DataDir, m.Seed, m.Cases, m.StartedAt.Format(time.RFC3339))
		return nil
	case demo.Unfinished:
		return fmt.Errorf("casefile demo: seeding %s started at %s and did not finish; remove the data dir (or use another --data) and run again",
			cfg.DataDir, m.StartedAt.Format(time.RFC3339))
	case demo.Foreign:
		return fmt.Errorf("casefile demo: %s holds data that casefile demo did not make; it seeds only an empty data dir: use --data with a new directory", cfg.DataDir)
	}
	if err := demo.Begin(ctx, a.db, dc, time.Now()); err != nil {
		return err
	}
	sum, err := demo.Seed(ctx, a.Services, clock, dc, passwords, stdout)
	if err != nil {
		return fmt.Errorf("%w (the data dir now holds part of a demo dataset: remove it and run again)", err)
	}
	if err := demo.Finish(ctx, a.db, time.Now()); err != nil {
		return err
	}
	printDemoSummary(stdout, sum)
	printDemoCredentials(stdout, passwords, getenv(demoPasswordEnv) != "")
	return nil
}

// demoPasswords are the demo users' passwords: one from the environment
// for all, or a random one each.
func demoPasswords(getenv func(string) string) (map[string]string, error) {
	out := map[string]string{}
	shared := getenv(demoPasswordEnv)
	if shared != "" {
		if err := auth.ValidatePassword(demoPasswordEnv, shared); err != nil {
			return nil, fmt.Errorf("casefile demo: %w", err)
		}
	}
	for _, m := range demo.Cast {
		out[m.Username] = shared
		if shared == "" {
			out[m.Username] = randomPassword()
		}
	}
	return out, nil
}

// randomPassword is four groups of four letters and digits (about 82
// bits), easy to type from a terminal.
func randomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	var s strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return s.String()
}

// demoCounts writes a count map as "3 closed, 2 new", keys sorted.
func demoCounts[K ~string](m map[K]int) string {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}

func printDemoSummary(w io.Writer, s demo.Summary) {
	fmt.Fprintf(w, "\nseeded in %s:\n", s.Took.Round(time.Second))
	fmt.Fprintf(w, "  users:        %s\n", demoCounts(s.Users))
	fmt.Fprintf(w, "  cases:        %d (%s); %d restricted\n", s.Cases, demoCounts(s.CasesByStatus), s.Restricted)
	fmt.Fprintf(w, "  enforcement:  %s (steps taken)\n", demoCounts(s.Enforcements))
	fmt.Fprintf(w, "  incidents:    %d; root causes: %s; action items: %s\n", s.Incidents, demoCounts(s.RootCauseCategories), demoCounts(s.ActionItems))
	fmt.Fprintf(w, "  postmortems:  %s\n", demoCounts(s.Postmortems))
	fmt.Fprintf(w, "  risks:        %d; QA reviews: %d\n", s.Risks, s.QAReviews)
}

func printDemoCredentials(w io.Writer, passwords map[string]string, shared bool) {
	fmt.Fprintln(w, "\ndemo users:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  username\trole\tteam / vendor\tpassword")
	for _, m := range demo.Cast {
		pw := passwords[m.Username]
		if shared {
			pw = "(" + demoPasswordEnv + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.Username, m.Role, m.Team+m.Vendor, pw)
	}
	_ = tw.Flush()
	if !shared {
		fmt.Fprintln(w, "\n  !!! These passwords are shown only now: note the ones you need. !!!")
	}
	fmt.Fprintln(w)
}

// demoBanner passes serve's output through and, once serve logs that it
// listens, says where to sign in.
type demoBanner struct {
	w    io.Writer
	mu   sync.Mutex
	buf  []byte
	done bool
}

func (b *demoBanner) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.w.Write(p)
	if b.done || err != nil {
		return n, err
	}
	b.buf = append(b.buf, p...)
	for {
		i := bytes.IndexByte(b.buf, '\n')
		if i < 0 {
			break
		}
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		line := b.buf[:i]
		b.buf = b.buf[i+1:]
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
			b.done, b.buf = true, nil
			fmt.Fprintf(b.w, "\n  Casefile demo: open http://%s/login\n"+
				"  Sign in as lena or luke (leads), ivy or sam (investigators), vera or wes (vendor agents), lou (leadership) or admin.\n\n", rec.Addr)
			break
		}
	}
	if len(b.buf) > 1<<16 {
		b.buf = nil
	}
	return n, err
}
