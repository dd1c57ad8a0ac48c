package search_test

// Benchmarks of indexing and querying over synthetic corpora of 10,000 and
// 100,000 documents (internal/corpus), directly and through the HTTP API.
//
//	go test -run=NONE -bench=. ./search/             # 10k and 100k
//	go test -run=NONE -bench=. -short ./search/      # 10k only
//
// The query indexes are built once and cached under os.TempDir(), keyed by
// size, mapping version and corpus version, so repeated runs start at once.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/search"
	"casefile.dev/casefile/web"
)

const benchSeed = 1

var benchSizes = []int{10_000, 100_000}

// latencies collects per-operation durations to report percentiles.
type latencies []time.Duration

func (l *latencies) time(fn func()) {
	start := time.Now()
	fn()
	*l = append(*l, time.Since(start))
}

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	p := func(q float64) float64 { return float64(l[int(q*float64(len(l)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// benchIndex returns the cached index of the first size corpus documents,
// building it if needed.
func benchIndex(b *testing.B, size int) *search.Index {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("casefile-bench-%d-m%d-c%d", size, search.MappingVersion, corpus.Version))
	x, fresh, err := search.Open(dir, quiet)
	if err != nil {
		b.Fatal(err)
	}
	if cp, _ := x.Checkpoint(); fresh || cp != int64(size) {
		start := time.Now()
		b.Logf("building the %d-document benchmark index in %s (cached for later runs)", size, dir)
		if _, err := x.Rebuild(context.Background(), corpus.Lazy{Gen: corpus.New(benchSeed), N: size}, 1000); err != nil {
			b.Fatal(err)
		}
		b.Logf("built in %s", time.Since(start).Round(time.Millisecond))
	}
	b.Cleanup(func() { _ = x.Close() })
	return x
}

func sizeName(n int) string { return fmt.Sprintf("docs=%dk", n/1000) }

// queries are the benchmarked requests; the user is an investigator, so
// the visibility filter is the realistic disjunction.
var benchQueries = []struct {
	name string
	req  search.Request
}{
	{"term", search.Request{Query: "chargeback"}},
	// A word of the rare tail: in a few dozen documents per 10k.
	{"rare_term", search.Request{Query: rareWord()}},
	// One document's own word: a single posting to look up.
	{"unique_term", search.Request{Query: visibleUniqueWord()}},
	{"phrase", search.Request{Query: `"ban evasion"`}},
	{"facets+highlight", search.Request{Query: "refund", Facets: []string{"type", "status", "severity", "team", "month"}, Highlight: true}},
	// What the HTTP API does for a selective query: two facets and
	// highlights on a handful of hits.
	{"rare+facets+highlight", search.Request{Query: rareWord(), Facets: []string{"status", "severity"}, Highlight: true}},
	{"term+filter", search.Request{Query: "chargeback severity:sev1..sev2 created:2025-01-01..2025-07-01", Types: []string{search.TypeCase},
		Filters: map[string][]string{"status": {"new", "triage", "investigating"}}, Sort: "-created_at"}},
	{"list_all+facets", search.Request{Facets: []string{"status", "team"}, Sort: "-created_at"}},
}

func rareWord() string {
	v := corpus.New(benchSeed).Vocabulary()
	return v[len(v)-3000]
}

// visibleUniqueWord is the own word of a document the benchmark user may
// open: exactly one hit.
func visibleUniqueWord() string {
	g := corpus.New(benchSeed)
	for i := 0; ; i++ {
		if d := g.Doc(i); d.Type == search.TypeCase && d.Team == "t1" && !d.Restricted {
			return corpus.UniqueWord(i)
		}
	}
}

func benchUser() *auth.User {
	return &auth.User{Username: "inv01", Role: auth.RoleInvestigator, Team: "t1"}
}

func BenchmarkQuery(b *testing.B) {
	ctx := context.Background()
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			if size > 10_000 && testing.Short() {
				b.Skip("100k documents: not with -short")
			}
			s := search.NewSearcher(benchIndex(b, size))
			u := benchUser()
			for _, q := range benchQueries {
				b.Run(q.name, func(b *testing.B) {
					var lat latencies
					var total uint64
					for b.Loop() {
						lat.time(func() {
							res, err := s.Search(ctx, u, q.req)
							if err != nil {
								b.Fatal(err)
							}
							total = res.Total
						})
					}
					lat.report(b)
					b.ReportMetric(float64(total), "hits")
				})
			}
		})
	}
}

// benchAuth lets every token in as one investigator.
type benchAuth struct{ u *auth.User }

func (a benchAuth) Login(context.Context, string, string, auth.Meta) (auth.Tokens, error) {
	return auth.Tokens{}, nil
}
func (a benchAuth) Refresh(context.Context, string, auth.Meta) (auth.Tokens, error) {
	return auth.Tokens{}, nil
}
func (a benchAuth) Logout(context.Context, *auth.Principal, auth.Meta) error { return nil }
func (a benchAuth) Authenticate(context.Context, string) (*auth.Principal, error) {
	return &auth.Principal{User: *a.u}, nil
}

// httpQuery is the /search URL query of a benchmarked request.
func httpQuery(r search.Request) string {
	v := url.Values{}
	v.Set("q", r.Query)
	for _, f := range r.Facets {
		v.Add("facet", f)
	}
	for _, t := range r.Types {
		v.Add("type", t)
	}
	if r.Sort != "" {
		v.Set("sort", r.Sort)
	}
	return v.Encode()
}

// BenchmarkHTTPQuery runs the same queries through GET /api/v1/search on
// a real listener: routing, middleware, JSON encoding and the network
// stack on top of the search (which always highlights over HTTP).
func BenchmarkHTTPQuery(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			if size > 10_000 && testing.Short() {
				b.Skip("100k documents: not with -short")
			}
			s := search.NewSearcher(benchIndex(b, size))
			app := web.NewServer(web.Deps{Auth: benchAuth{benchUser()}, Logger: quiet, Search: s})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go func() { _ = app.Listener(ln) }()
			b.Cleanup(func() { _ = app.Shutdown() })
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			base := "http://" + ln.Addr().String() + "/api/v1/search?"
			for _, q := range benchQueries {
				if len(q.req.Filters) > 0 {
					continue // /search has no filter parameters; the query carries them
				}
				b.Run(q.name, func(b *testing.B) {
					req, _ := http.NewRequest(http.MethodGet, base+httpQuery(q.req), nil)
					req.Header.Set("Authorization", "Bearer bench")
					var lat latencies
					var bytes int64
					for b.Loop() {
						lat.time(func() {
							resp, err := client.Do(req)
							if err != nil {
								b.Fatal(err)
							}
							n, _ := io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode != http.StatusOK {
								b.Fatalf("status %d", resp.StatusCode)
							}
							bytes = n
						})
					}
					lat.report(b)
					b.ReportMetric(float64(bytes), "resp-bytes")
				})
			}
		})
	}
}

// BenchmarkIndexing measures how fast documents get into the index:
// bulk batches (catch-up and rebuild), single-document batches (the
// read-your-writes path every write takes) and a whole rebuild.
func BenchmarkIndexing(b *testing.B) {
	ctx := context.Background()
	g := corpus.New(benchSeed)
	const pool = 5000
	changes := make([]search.Change, pool)
	for i := range changes {
		changes[i] = g.Change(i, int64(i+1))
	}

	b.Run("batch=500", func(b *testing.B) {
		x := openIndex(b, corpus.NewSource())
		var lat latencies
		docs, seq := 0, int64(0)
		for b.Loop() {
			at := docs % pool
			batch := changes[at:min(at+500, pool)]
			seq += int64(len(batch))
			lat.time(func() {
				if err := x.Apply(batch, seq); err != nil {
					b.Fatal(err)
				}
			})
			docs += len(batch)
		}
		b.ReportMetric(float64(docs)/b.Elapsed().Seconds(), "docs/s")
		lat.report(b)
	})

	b.Run("notify=1", func(b *testing.B) {
		src := corpus.NewSource()
		x := openIndex(b, src)
		f := search.NewFeed(x, src, quiet, nil)
		var lat latencies
		i := 0
		for b.Loop() {
			c := src.Put(changes[i%pool].Doc)
			lat.time(func() {
				if err := f.Notify(ctx, c.Type, c.ID); err != nil {
					b.Fatal(err)
				}
			})
			i++
		}
		b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "docs/s")
		lat.report(b)
	})

	b.Run("rebuild=10k", func(b *testing.B) {
		const n = 10_000
		var built int
		for b.Loop() {
			x, _, err := search.Open(b.TempDir(), quiet)
			if err != nil {
				b.Fatal(err)
			}
			if built, err = x.Rebuild(ctx, corpus.Lazy{Gen: g, N: n}, search.DefaultBatch); err != nil {
				b.Fatal(err)
			}
			_ = x.Close()
		}
		b.ReportMetric(float64(built*b.N)/b.Elapsed().Seconds(), "docs/s")
	})
}
