package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/syncbuf"
)

// TestLoadAgainstRealServer runs `casefile load` for a few seconds against
// the real server started through run, and requires every operation of the
// mix to have run, without a single error. It never asserts timing.
func TestLoadAgainstRealServer(t *testing.T) {
	s := startServer(t, t.TempDir(), e2eEnv())
	s.waitReady(t)

	var out syncbuf.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Equal weights: the round robin runs every operation in each worker's
	// first six, however slow the machine.
	err := run(ctx, []string{"casefile", "load", "-url", s.base, "-workers", "2", "-duration", "3s",
		"-mix", "create=1,read=1,note=1,transition=1,search=1,postmortem=1"}, func(k string) string { return e2eEnv()[k] }, &out)
	text := out.String()
	t.Log("\n" + text)
	require.NoError(t, err, "%s", text)

	for _, op := range append(loadOps, "total") {
		m := regexp.MustCompile(`(?m)^` + op + `\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)$`).FindStringSubmatch(text)
		require.NotNil(t, m, "a report line for %s", op)
		count, _ := strconv.Atoi(m[1])
		errors, _ := strconv.Atoi(m[7])
		assert.Positive(t, count, "%s ran", op)
		assert.Zero(t, errors, "%s had no errors", op)
	}
	assert.Regexp(t, `published`, text)
	assert.Regexp(t, `server RSS \(MiB\): start [\d.]+, end [\d.]+, min [\d.]+, max [\d.]+ over \d+ samples`, text)

	// What it did is there to be found: the seeded postmortem is published,
	// and the cases the workers filed are listed.
	tok := s.login(t, "admin", e2eAdminPassword)
	var list struct {
		Total int `json:"total"`
	}
	s.get(t, "/api/v1/postmortems", tok, &list)
	assert.Equal(t, 1, list.Total)
	s.get(t, "/api/v1/cases?limit=1", tok, &list)
	assert.Greater(t, list.Total, 2, "the workers filed cases")
}

// TestLoadFailsOnErrors: a bad mix or no admin password is refused before
// any request, a wrong admin password fails the setup, and requests that
// fail (here: the server stops in the middle of the run) are counted and
// make load return an error, so that a soak is judged by exit status.
func TestLoadFailsOnErrors(t *testing.T) {
	getenv := func(string) string { return "" }
	var out syncbuf.Buffer
	err := load(context.Background(), []string{"-mix", "create=1,bogus=2", "-admin-password", "x"}, getenv, &out)
	assert.ErrorContains(t, err, `unknown operation "bogus"`)
	err = load(context.Background(), []string{"-mix", "create=0", "-admin-password", "x"}, getenv, &out)
	assert.ErrorContains(t, err, "at least one operation")
	err = load(context.Background(), nil, getenv, &out)
	assert.ErrorContains(t, err, "admin password")

	s := startServer(t, t.TempDir(), e2eEnv())
	s.waitReady(t)
	err = load(context.Background(), []string{"-url", s.base, "-admin-password", "not-the-password", "-duration", "1s"}, getenv, &out)
	assert.ErrorContains(t, err, "sign in as admin")

	out = syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- load(context.Background(), []string{"-url", s.base, "-admin-password", e2eAdminPassword,
			"-workers", "1", "-duration", "4s", "-rate", "20", "-timeout", "5s"}, getenv, &out)
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for !regexp.MustCompile(`(?m)^setup: `).MatchString(out.String()) {
		require.True(t, time.Now().Before(deadline), "setup did not finish: %s", out.String())
		time.Sleep(10 * time.Millisecond)
	}
	s.shutdown(t)
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("load did not return")
	}
	text := out.String()
	t.Log("\n" + text)
	assert.Regexp(t, `load: \d+ of \d+ requests failed`, err)
	m := regexp.MustCompile(`(?m)^total\s+(\d+)\s.*\s(\d+)$`).FindStringSubmatch(text)
	require.NotNil(t, m, "a total line")
	failed, _ := strconv.Atoi(m[2])
	assert.Positive(t, failed, "the failures are counted")
	assert.Regexp(t, `(?m)^  \d+× (create|note|transition|search|postmortem): .*connection refused`, text)
}

func TestLoadMixAndPercentiles(t *testing.T) {
	mix, err := parseMix(" search=25, create=30,postmortem=0 ,note=5")
	require.NoError(t, err)
	assert.Equal(t, "create=30,note=5,search=25", mixString(mix))
	_, err = parseMix("create=1,create=2")
	assert.Error(t, err)
	_, err = parseMix("create=-1")
	assert.Error(t, err)

	// The smooth weighted round robin runs each operation its weight's
	// times in every cycle.
	fx := &fixture{workers: []*session{{}, {}, {}}}
	for i := range 3 {
		w := newLoadWorker(i, fx, mix)
		counts := map[string]int{}
		for range 60 * 3 {
			counts[w.nextOp()]++
		}
		assert.Equal(t, map[string]int{"create": 90, "note": 15, "search": 75}, counts, "worker %d", i)
	}
	even, err := parseMix("create=1,note=1,transition=1,search=1,postmortem=1")
	require.NoError(t, err)
	for i := range 3 {
		w := newLoadWorker(i, fx, even)
		first := map[string]bool{}
		for range 5 {
			first[w.nextOp()] = true
		}
		assert.Len(t, first, 5, "worker %d runs every operation in its first five", i)
	}

	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	r := makeRow("x", lat, 0, 10*time.Second)
	assert.Equal(t, 50*time.Millisecond, r.p50)
	assert.Equal(t, 95*time.Millisecond, r.p95)
	assert.Equal(t, 99*time.Millisecond, r.p99)
	assert.Equal(t, 100*time.Millisecond, r.max)
	assert.InDelta(t, 10.0, r.opsPerSec, 1e-9)
}

// The pacer keeps to its schedule: a worker late for a slot gets that
// slot (its latency counts from it) instead of a fresh one, and slots no
// worker took by the end are counted as missed.
func TestPacerKeepsToTheSchedule(t *testing.T) {
	ctx := context.Background()
	start := time.Now().Add(-time.Second) // 100 slots already due
	p := newPacer(100, start)
	for i := range 100 {
		slot, ok := p.wait(ctx, start.Add(time.Hour))
		require.True(t, ok)
		assert.Equal(t, start.Add(time.Duration(i)*10*time.Millisecond), slot, "slot %d", i)
	}
	require.Len(t, p.lags, 100)
	assert.GreaterOrEqual(t, p.lags[0], time.Second, "the first slot was taken a second late")
	assert.Zero(t, p.missed)

	// The run ends 250 ms after the first slot: slots 0–24 were due and
	// none was taken, so all 25 are missed, and later calls stay done.
	late := newPacer(100, start)
	for range 2 {
		_, ok := late.wait(ctx, start.Add(250*time.Millisecond))
		assert.False(t, ok)
	}
	assert.Equal(t, 25, late.missed)
	assert.Equal(t, 250*time.Millisecond, late.behind)
	var out strings.Builder
	late.report(&out)
	assert.Contains(t, out.String(), "0 starts taken, 25 missed, 250.0 ms behind at the end")

	// A slot still to come is waited for, and counted from the waking.
	soon := newPacer(100, time.Now().Add(20*time.Millisecond))
	slot := soon.next
	from, ok := soon.wait(ctx, slot.Add(time.Hour))
	require.True(t, ok)
	assert.False(t, from.Before(slot), "started before its slot")
	assert.Equal(t, []time.Duration{0}, soon.lags)

	var none *pacer
	_, ok = none.wait(ctx, time.Now().Add(time.Hour))
	assert.True(t, ok, "without a rate every call may start at once")
}
