package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"casefile.dev/casefile/internal/benchcmp"
	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/internal/corpusstore"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/syncbuf"
)

// adminPassword is the bench's admin; the data dir is its own and thrown
// away.
const adminPassword = "bench-admin-password-1"

// casefileBin builds the casefile binary into dir: the bench measures the
// program users run, in its own process.
func casefileBin(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "casefile")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "casefile.dev/casefile/cmd/casefile")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building casefile: %w", err)
	}
	return bin, nil
}

// server is a running `casefile serve`.
type server struct {
	cmd  *exec.Cmd
	base string
	out  *syncbuf.Buffer
	done chan error
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func casefileEnv() []string {
	return append(os.Environ(), "CASEFILE_ADMIN_PASSWORD="+adminPassword, "CASEFILE_LOG_LEVEL=warn")
}

// startServer starts `casefile serve` on data and waits until /readyz
// answers 200 (the index caught up), returning how long that took.
func startServer(ctx context.Context, bin, data string, extra ...string) (*server, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	s := &server{base: "http://" + addr, out: &syncbuf.Buffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr, "--data", data}, extra...)...)
	s.cmd.Env = casefileEnv()
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, 0, err
	}
	go func() { s.done <- s.cmd.Wait() }()
	for {
		select {
		case err := <-s.done:
			return nil, 0, fmt.Errorf("casefile serve exited: %v\n%s", err, s.out.String())
		case <-ctx.Done():
			_ = s.cmd.Process.Kill()
			return nil, 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, time.Since(start), nil
			}
		}
	}
}

// settle waits until the server's work in the background is done (the
// classifier learning from stored incidents at start-up, about 15 s of a
// core at 100,000 documents; compacting the index's small segments, which
// starts 3 s after the last write): until its CPU time has grown by less
// than a tenth of a core over each half second for settleQuiet, or three
// minutes have passed. Queries and reads are timed on a settled server.
func (s *server) settle() {
	cpu := func() int64 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
		if err != nil {
			return -1
		}
		// Fields after the command name (which is in parentheses):
		// utime and stime are the 12th and 13th.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			return -1
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return u + st // clock ticks, 100 per second on Linux
	}
	deadline := time.Now().Add(3 * time.Minute)
	quietSince := time.Now()
	for prev := cpu(); prev >= 0 && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		now := cpu()
		if now-prev > 5 {
			quietSince = time.Now()
		} else if time.Since(quietSince) >= settleQuiet {
			return
		}
		prev = now
	}
}

// settleQuiet outlasts the index's wait before compacting (3 s after the
// last write, search/compact.go), so that a server is not taken as
// settled in the pause before its compaction.
const settleQuiet = 5 * time.Second

// stop ends the server with SIGTERM and returns its peak resident memory.
func (s *server) stop() (peakRSS int64, err error) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return maxRSS(s.cmd.ProcessState), nil
}

// maxRSS is a finished process's peak resident set, in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024 // Linux reports KiB
	}
	return 0
}

// initialise starts casefile once on an empty data dir (collections,
// indexes, the admin user) and stops it.
func initialise(ctx context.Context, bin, data string) error {
	s, _, err := startServer(ctx, bin, data)
	if err != nil {
		return err
	}
	_, err = s.stop()
	return err
}

// loadStore writes documents 0..n-1 of g into the embedded store of data.
func loadStore(ctx context.Context, data string, g *corpus.Gen, n int, progress func(int)) error {
	quiet := slog.New(slog.DiscardHandler)
	emb, err := store.StartEmbedded(ctx, filepath.Join(data, "db"), quiet)
	if err != nil {
		return err
	}
	defer emb.Close()
	db, err := store.Open(ctx, emb.URI(), "casefile", emb)
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	return corpusstore.Load(ctx, db, g, n, progress)
}

var reindexed = regexp.MustCompile(`reindexed (\d+) documents in (\S+)`)

// reindex runs `casefile reindex` and reports the documents indexed, the
// time the rebuild itself took, and the process's peak memory.
func reindex(ctx context.Context, bin, data string, extra ...string) (docs int, took time.Duration, peak int64, err error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"reindex", "--data", data}, extra...)...)
	cmd.Env = casefileEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("casefile reindex: %v\n%s", err, out)
	}
	m := reindexed.FindSubmatch(out)
	if m == nil {
		return 0, 0, 0, fmt.Errorf("casefile reindex said: %s", out)
	}
	docs, _ = strconv.Atoi(string(m[1]))
	took, err = time.ParseDuration(string(m[2]))
	return docs, took, maxRSS(cmd.ProcessState), err
}

// apiSession is a signed-in HTTP client.
type apiSession struct {
	base   string
	token  string
	client *http.Client
}

func login(ctx context.Context, base, user, password string) (*apiSession, error) {
	s := &apiSession{base: base, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: time.Minute}}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := s.call(ctx, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": user, "password": password}, &out); err != nil {
		return nil, err
	}
	s.token = out.AccessToken
	return s, nil
}

func (s *apiSession) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// httpEngine is Casefile's search API as a lead (whose permission filter
// admits every case, incident and published postmortem, so its totals
// compare with engines that have no permissions).
type httpEngine struct{ s *apiSession }

func (e httpEngine) Name() string { return "Casefile HTTP" }

func (e httpEngine) Load(context.Context, *corpus.Gen, int) error {
	return errors.New("loaded through the store and casefile reindex")
}

func (e httpEngine) Close() error { return nil }

func (e httpEngine) Search(ctx context.Context, q benchcmp.Query) (benchcmp.Result, error) {
	v := url.Values{}
	text := strings.Join(q.Terms, " ")
	for k, val := range q.Filters {
		if k == "type" {
			v.Add("type", val)
			continue
		}
		text += " " + k + ":" + val
	}
	v.Set("q", text)
	for _, f := range q.Facets {
		v.Add("facet", f)
	}
	v.Set("size", strconv.Itoa(max(q.Size, 1)))
	var res struct {
		Total uint64 `json:"total"`
		Hits  []struct {
			ID         string              `json:"id"`
			Highlights map[string][]string `json:"highlights"`
		} `json:"hits"`
		Facets map[string][]struct {
			Term  string `json:"term"`
			Count int    `json:"count"`
		} `json:"facets"`
	}
	if err := e.s.call(ctx, http.MethodGet, "/api/v1/search?"+v.Encode(), nil, &res); err != nil {
		return benchcmp.Result{}, err
	}
	out := benchcmp.Result{Total: int(res.Total), Facets: map[string]map[string]int{}}
	for _, h := range res.Hits {
		out.IDs = append(out.IDs, h.ID)
		if len(h.Highlights) > 0 {
			out.Snippets++
		}
	}
	for name, terms := range res.Facets {
		out.Facets[name] = map[string]int{}
		for _, t := range terms {
			out.Facets[name][t.Term] = t.Count
		}
	}
	return out, nil
}

// loadRun is one `casefile load` run's line for an operation.
type loadRun struct {
	count              int
	perSec             float64 // over the whole run, the last requests' drain included
	p50, p95, p99, max float64
	errors             int
	// From the schedule line of a paced run: the starts taken, the starts
	// no worker reached by the end, how far behind the schedule was then
	// and how late the latest start was taken (ms). A server that cannot
	// keep up falls further behind for the whole run.
	scheduled         bool
	started, missed   int
	behind, latestLag float64
	output            string
}

// runLoad runs `casefile load` against base with one operation and parses
// its report line for that operation.
func runLoad(ctx context.Context, bin, base, op string, workers int, rate float64, d time.Duration) (loadRun, error) {
	cmd := exec.CommandContext(ctx, bin, "load", "-url", base, "-mix", op+"=1", "-workers", strconv.Itoa(workers),
		"-rate", strconv.FormatFloat(rate, 'f', -1, 64), "-duration", d.String())
	cmd.Env = casefileEnv()
	out, runErr := cmd.CombinedOutput()
	if r, ok := parseLoadReport(out, op); ok {
		return r, nil
	}
	if runErr != nil {
		return loadRun{output: string(out)}, fmt.Errorf("casefile load: %v\n%s", runErr, out)
	}
	return loadRun{output: string(out)}, fmt.Errorf("casefile load printed no %s line:\n%s", op, out)
}

// scheduleLine is the line `casefile load` prints after a paced run.
var scheduleLine = regexp.MustCompile(`(?m)^schedule: (\d+) starts taken, (\d+) missed, ([0-9.]+) ms behind at the end; taken late by p50 [0-9.]+, p99 [0-9.]+, max ([0-9.]+) ms`)

// parseLoadReport reads op's line of a `casefile load` report
// (operation, count, ops/s, p50, p95, p99, max (ms), errors) and its
// schedule line, if the run was paced.
func parseLoadReport(out []byte, op string) (loadRun, bool) {
	r := loadRun{output: string(out)}
	if m := scheduleLine.FindSubmatch(out); m != nil {
		r.scheduled = true
		r.started, _ = strconv.Atoi(string(m[1]))
		r.missed, _ = strconv.Atoi(string(m[2]))
		r.behind, _ = strconv.ParseFloat(string(m[3]), 64)
		r.latestLag, _ = strconv.ParseFloat(string(m[4]), 64)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 8 || f[0] != op {
			continue
		}
		var err error
		for i, dst := range []*float64{&r.perSec, &r.p50, &r.p95, &r.p99, &r.max} {
			if *dst, err = strconv.ParseFloat(f[2+i], 64); err != nil {
				return r, false
			}
		}
		if r.count, err = strconv.Atoi(f[1]); err != nil {
			return r, false
		}
		if r.errors, err = strconv.Atoi(f[7]); err != nil {
			return r, false
		}
		return r, true
	}
	return r, false
}
