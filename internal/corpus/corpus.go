// Package corpus generates synthetic Casefile search documents for tests
// and benchmarks: cases, incidents and postmortems with Trust & Safety
// vocabulary drawn from a Zipf distribution, realistic field values and
// text of 1–5 KB each. Everything is deterministic for a seed: document i
// of New(seed) is always the same, whatever was generated before it.
//
// It also provides in-memory search.Source implementations, so tests and
// benchmarks can feed a search.Index without MongoDB.
package corpus

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"casefile.dev/casefile/search"
)

// Version changes whenever the generator's output does, so that caches of
// indexes built from it (see the search benchmarks) are rebuilt.
const Version = 1

// Start is the earliest created_at; documents spread over two years from it.
var Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Span is how far after Start documents are created.
const Span = 730 * 24 * time.Hour

// Gen generates documents. It is safe for concurrent use: it holds only
// immutable tables, and each document draws from its own source seeded by
// (seed, i).
type Gen struct {
	seed  uint64
	vocab []string // headWords, then the rare tail
}

// tailSize is how many invented rare words follow the head vocabulary.
const tailSize = 4000

// New returns a generator for seed.
func New(seed int64) *Gen {
	g := &Gen{seed: uint64(seed)}
	g.vocab = append(g.vocab, headWords...)
	seen := map[string]bool{}
	for _, w := range headWords {
		seen[w] = true
	}
	n := len(tailSyllables)
	for k := 0; len(g.vocab) < len(headWords)+tailSize; k++ {
		w := tailSyllables[k%n] + tailSyllables[(k/n)%n]
		if k >= n*n {
			w += tailSyllables[(k/(n*n))%n]
		}
		if !seen[w] {
			seen[w] = true
			g.vocab = append(g.vocab, w)
		}
	}
	return g
}

// Vocabulary is every word the generator draws from (head first).
func (g *Gen) Vocabulary() []string { return g.vocab }

// ID is the id of document i.
func ID(i int) string { return fmt.Sprintf("d%07d", i) }

// Index is the inverse of ID (-1 if id is not one).
func Index(id string) int {
	if len(id) != 8 || id[0] != 'd' {
		return -1
	}
	n, err := strconv.Atoi(id[1:])
	if err != nil {
		return -1
	}
	return n
}

// UniqueWord is a word that only document i contains (in its body). It
// is made of letters the English analyzer leaves alone, so a query for it
// matches exactly that document.
func UniqueWord(i int) string {
	var b strings.Builder
	b.WriteString("zq")
	n := i
	for {
		b.WriteByte(byte('a' + n%26))
		n /= 26
		if n == 0 {
			break
		}
	}
	b.WriteString("x")
	return b.String()
}

// TypeOf is the type of document i: 70% cases, 20% incidents, 10%
// postmortems, interleaved.
func TypeOf(i int) string {
	switch i % 10 {
	case 3, 7:
		return search.TypeIncident
	case 9:
		return search.TypePostmortem
	}
	return search.TypeCase
}

// doc is the state of generating one document.
type doc struct {
	r          *rand.Rand
	head, tail *rand.Zipf
	g          *Gen
}

func (g *Gen) rng(i int) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed, uint64(i)*0x9E3779B97F4A7C15+0x632BE59BD9B4E019))
}

// Doc returns document i. Its Seq is 0: a Source stamps it.
func (g *Gen) Doc(i int) search.Doc {
	r := g.rng(i)
	d := &doc{r: r, g: g,
		head: rand.NewZipf(r, 1.1, 3, uint64(len(headWords)-1)),
		tail: rand.NewZipf(r, 1.05, 10, uint64(len(g.vocab)-len(headWords)-1))}
	typ := TypeOf(i)
	created := Start.Add(time.Duration(r.Int64N(int64(Span/time.Second))) * time.Second)
	out := search.Doc{
		Type: typ, ID: ID(i),
		CreatedAt: created, UpdatedAt: created.Add(time.Duration(r.Int64N(30*24*3600)) * time.Second),
		Month: created.Format("2006-01"),
	}
	// Text of 1–5 KB over all fields.
	total := 1024 + r.IntN(4*1024+1)
	out.Title = d.title()
	out.Summary = d.text(120 + r.IntN(300))
	rest := max(200, total-len(out.Title)-len(out.Summary))

	switch typ {
	case search.TypeCase:
		out.Key = fmt.Sprintf("CF-%d-%d", created.Year(), i+1)
		out.Status = pick(r, caseStatuses, 1.3)
		out.Severity = pickWeighted(r, caseSeverities, []int{5, 20, 50, 25})
		out.Gravity = float64(5 - (indexOf(caseSeverities, out.Severity) + 1))
		out.PolicyAreas = d.some(policyAreas, 1, 2)
		out.Team = pick(r, Teams, 1.2)
		if r.IntN(10) < 3 {
			out.Vendor = pick(r, Vendors, 1.1)
		}
		if r.IntN(10) < 7 {
			out.Assignee = fmt.Sprintf("inv%02d", 1+r.IntN(40))
		}
		out.Restricted = r.IntN(100) < 4
		out.Tags = d.some(tagValues, 0, 2)
		out.ActorID = fmt.Sprintf("actor-%d", r.IntN(5000))
		out.SourceKind = []string{"proactive", "reactive"}[r.IntN(2)]
		open := indexOf(caseStatuses, out.Status) < 4
		if open {
			hours := map[string]int{"sev1": 24, "sev2": 72, "sev3": 168, "sev4": 336}[out.Severity]
			due := created.Add(time.Duration(hours) * time.Hour)
			risk := due.Add(-time.Duration(hours) * time.Hour / 4)
			out.Due, out.AtRisk = &due, &risk
		} else {
			out.Breached = r.IntN(10) == 0
		}
		body := rest * 6 / 10
		out.Body = d.text(body)
		notes := rest - body
		if r.IntN(2) == 0 {
			out.Evidence = d.text(100 + r.IntN(200))
			notes -= len(out.Evidence)
		}
		out.Notes = d.text(max(50, notes))
	case search.TypeIncident:
		out.Key = fmt.Sprintf("INC-%d-%d", created.Year(), i+1)
		out.Status = pick(r, incidentStatuses, 1.1)
		out.Severity = pickWeighted(r, incSeverities, []int{3, 15, 45, 37})
		out.Gravity = float64(5 - indexOf(incSeverities, out.Severity))
		cats := d.some(rootCauseCats, 1, 2)
		for _, c := range cats {
			subs := rootCauseSubs[c]
			out.Subcategories = append(out.Subcategories, c+"/"+subs[r.IntN(len(subs))])
		}
		sort.Strings(out.Subcategories)
		out.RootCauseCategories = cats
		out.Body = d.text(rest * 7 / 10)
		out.RootCauses = d.text(rest - rest*7/10)
	case search.TypePostmortem:
		out.Key = fmt.Sprintf("INC-%d-%d", created.Year(), i)
		out.Status = "published"
		out.Published = true
		out.Severity = pickWeighted(r, incSeverities, []int{5, 25, 45, 25})
		out.Gravity = float64(5 - indexOf(incSeverities, out.Severity))
		out.Body = d.text(rest)
	}
	// The document's own word, somewhere in its body.
	words := strings.Fields(out.Body)
	at := r.IntN(len(words) + 1)
	words = append(words[:at], append([]string{UniqueWord(i)}, words[at:]...)...)
	out.Body = strings.Join(words, " ")
	return out
}

// Change is document i stamped with seq, as a Source hands it out.
func (g *Gen) Change(i int, seq int64) search.Change {
	d := g.Doc(i)
	d.Seq = seq
	return search.Change{Type: d.Type, ID: d.ID, Seq: seq, Doc: d}
}

// word is a head word, or one time in 16 a rare tail word.
func (d *doc) word() string {
	if d.r.IntN(16) == 0 {
		return d.g.vocab[len(headWords)+int(d.tail.Uint64())]
	}
	return d.g.vocab[d.head.Uint64()]
}

// title is 4–9 words, often around a phrase.
func (d *doc) title() string {
	n := 4 + d.r.IntN(6)
	var ws []string
	if d.r.IntN(3) > 0 {
		ws = append(ws, strings.Fields(phrases[d.r.IntN(len(phrases))])...)
	}
	for len(ws) < n {
		ws = append(ws, d.word())
	}
	ws[0] = capitalize(ws[0])
	return strings.Join(ws, " ")
}

// text is sentences of Zipf-drawn words and phrases, about n bytes.
func (d *doc) text(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		words := 6 + d.r.IntN(13)
		for w := 0; w < words; w++ {
			var s string
			if d.r.IntN(8) == 0 {
				s = phrases[d.r.IntN(len(phrases))]
			} else {
				s = d.word()
			}
			if w == 0 {
				s = capitalize(s)
			} else {
				b.WriteByte(' ')
			}
			b.WriteString(s)
		}
		b.WriteByte('.')
	}
	return b.String()
}

// some picks from lo to hi distinct values of vals, skewed to the first.
func (d *doc) some(vals []string, lo, hi int) []string {
	n := lo + d.r.IntN(hi-lo+1)
	var out []string
	for len(out) < n {
		v := pick(d.r, vals, 1.2)
		if indexOf(out, v) < 0 {
			out = append(out, v)
		}
	}
	return out
}

// pick draws from vals with a Zipf-like skew s towards the first.
func pick(r *rand.Rand, vals []string, s float64) string {
	return vals[rand.NewZipf(r, s, 1, uint64(len(vals)-1)).Uint64()]
}

func pickWeighted(r *rand.Rand, vals []string, weights []int) string {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return vals[i]
		}
		n -= w
	}
	return vals[len(vals)-1]
}

func indexOf(vals []string, v string) int {
	for i, x := range vals {
		if x == v {
			return i
		}
	}
	return -1
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// Source is an in-memory search.Source: a store that stamps every write
// with the next seq, as MongoDB's feed counter does. It is safe for
// concurrent use.
type Source struct {
	mu   sync.Mutex
	head int64
	cur  map[string]search.Change // by type:id, the current state (tombstones too)
	log  []logEntry               // every committed write, in seq order
}

type logEntry struct {
	seq int64
	key string
}

var _ search.Source = (*Source)(nil)

// NewSource returns an empty source.
func NewSource() *Source { return &Source{cur: map[string]search.Change{}} }

func key(typ, id string) string { return typ + ":" + id }

// Put writes d with the next seq and returns the change.
func (s *Source) Put(d search.Doc) search.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.head++
	return s.commit(search.Change{Type: d.Type, ID: d.ID, Seq: s.head, Doc: d})
}

// PutAll writes every doc, in order.
func (s *Source) PutAll(docs ...search.Doc) {
	for _, d := range docs {
		s.Put(d)
	}
}

// Delete writes a tombstone for (typ, id) with the next seq.
func (s *Source) Delete(typ, id string) search.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.head++
	return s.commit(search.Change{Type: typ, ID: id, Seq: s.head, Deleted: true})
}

// Reserve hands out the next seq without writing anything: with PutAt it
// models a write whose seq was taken before, but committed after, later
// writes (two instances, or a slow request).
func (s *Source) Reserve() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.head++
	return s.head
}

// PutAt commits d with a seq from Reserve.
func (s *Source) PutAt(d search.Doc, seq int64) search.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commit(search.Change{Type: d.Type, ID: d.ID, Seq: seq, Doc: d})
}

func (s *Source) commit(c search.Change) search.Change {
	c.Doc.Type, c.Doc.ID, c.Doc.Seq = c.Type, c.ID, c.Seq
	k := key(c.Type, c.ID)
	s.cur[k] = c
	e := logEntry{seq: c.Seq, key: k}
	// Keep the log in seq order (PutAt may commit an older seq late).
	at := sort.Search(len(s.log), func(j int) bool { return s.log[j].seq > c.Seq })
	s.log = append(s.log, logEntry{})
	copy(s.log[at+1:], s.log[at:])
	s.log[at] = e
	return c
}

// Head is the newest seq handed out.
func (s *Source) Head(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head, nil
}

// Changes returns the current state of every document whose current seq
// is > after, in seq order, at most limit.
func (s *Source) Changes(_ context.Context, after int64, limit int) ([]search.Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []search.Change
	for j := sort.Search(len(s.log), func(j int) bool { return s.log[j].seq > after }); j < len(s.log) && len(out) < limit; j++ {
		e := s.log[j]
		if c := s.cur[e.key]; c.Seq == e.seq {
			out = append(out, c)
		}
	}
	return out, nil
}

// Document returns the current state of (typ, id); Deleted when there is
// none.
func (s *Source) Document(_ context.Context, typ, id string) (search.Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cur[key(typ, id)]; ok {
		return c, nil
	}
	return search.Change{Type: typ, ID: id, Deleted: true}, nil
}

// Len is how many live documents the source holds.
func (s *Source) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.cur {
		if !c.Deleted {
			n++
		}
	}
	return n
}

// Lazy is a read-only search.Source of the first N documents of Gen,
// generated on demand (document i has seq i+1), for corpora too large to
// hold in memory.
type Lazy struct {
	Gen *Gen
	N   int
}

var _ search.Source = Lazy{}

// Head is N.
func (l Lazy) Head(context.Context) (int64, error) { return int64(l.N), nil }

// Changes generates the documents after seq after.
func (l Lazy) Changes(_ context.Context, after int64, limit int) ([]search.Change, error) {
	var out []search.Change
	for i := int(after); i < l.N && len(out) < limit; i++ {
		out = append(out, l.Gen.Change(i, int64(i+1)))
	}
	return out, nil
}

// Document generates one document.
func (l Lazy) Document(_ context.Context, typ, id string) (search.Change, error) {
	i := Index(id)
	if i < 0 || i >= l.N || TypeOf(i) != typ {
		return search.Change{Type: typ, ID: id, Deleted: true}, nil
	}
	return l.Gen.Change(i, int64(i+1)), nil
}

// headWords is the frequent vocabulary of Trust & Safety casework, roughly
// most common first: the Zipf draw favours the start of the list.
var headWords = []string{
	// Very common investigation words.
	"account", "user", "report", "review", "policy", "activity", "listing", "payment", "refund", "merchant",
	"seller", "buyer", "order", "message", "profile", "content", "post", "comment", "video", "creator",
	"fraud", "scam", "spam", "bot", "network", "abuse", "violation", "evidence", "enforcement", "appeal",
	"suspension", "ban", "evasion", "chargeback", "impersonation", "harassment", "coordinated", "livestream", "queue", "escalation",
	"investigator", "vendor", "agent", "team", "case", "incident", "postmortem", "detection", "signal", "classifier",
	"model", "threshold", "rule", "alert", "backlog", "triage", "mitigation", "response", "customer", "support",
	"transaction", "card", "stolen", "credential", "takeover", "phishing", "link", "domain", "redirect", "device",
	"fingerprint", "ip", "proxy", "vpn", "location", "region", "country", "login", "session", "password",
	"reset", "email", "phone", "verification", "identity", "document", "selfie", "kyc", "onboarding", "signup",
	// Marketplace and payments.
	"marketplace", "storefront", "shop", "item", "product", "counterfeit", "replica", "brand", "trademark", "copyright",
	"price", "discount", "coupon", "promo", "voucher", "gift", "giftcard", "wallet", "balance", "payout",
	"withdrawal", "deposit", "bank", "transfer", "wire", "crypto", "bitcoin", "exchange", "invoice", "receipt",
	"shipping", "tracking", "delivery", "courier", "warehouse", "return", "dispute", "claim", "buyer_protection", "escrow",
	"dropshipping", "reseller", "inventory", "catalog", "sku", "rating", "feedback", "star", "testimonial", "affiliate",
	// Abuse patterns.
	"fake", "review_ring", "engagement", "follower", "like", "view", "click", "farm", "sockpuppet", "astroturf",
	"brigading", "raid", "doxxing", "threat", "extortion", "sextortion", "blackmail", "grooming", "minor", "predator",
	"hate", "slur", "extremism", "propaganda", "recruitment", "violence", "graphic", "gore", "self_harm", "suicide",
	"misinformation", "disinformation", "election", "health", "vaccine", "conspiracy", "deepfake", "synthetic", "manipulated", "media",
	"pyramid", "ponzi", "investment", "romance", "pig_butchering", "advance_fee", "lottery", "prize", "inheritance", "loan",
	"job", "recruiter", "task", "commission", "mule", "money", "laundering", "sanctions", "gambling", "betting",
	"drugs", "pharmacy", "weapons", "firearm", "ammunition", "regulated", "tobacco", "vape", "alcohol", "cannabis",
	"privacy", "leak", "data", "scraping", "harvesting", "personal", "address", "nonconsensual", "intimate", "imagery",
	"copyright_strike", "piracy", "stream", "rebroadcast", "clip", "music", "license", "takedown", "dmca", "notice",
	// Operations.
	"sla", "breach", "deadline", "backlog_spike", "staffing", "shift", "handoff", "training", "sop", "guideline",
	"calibration", "quality", "audit", "sample", "accuracy", "precision", "recall", "false_positive", "false_negative", "overturn",
	"reviewer", "moderator", "annotator", "label", "labeling", "workflow", "tool", "dashboard", "console", "macro",
	"automation", "pipeline", "deploy", "rollback", "release", "config", "flag", "experiment", "outage", "latency",
	"error", "bug", "regression", "monitoring", "paging", "oncall", "runbook", "timeline", "impact", "severity",
	"root", "cause", "contributing", "factor", "lesson", "action", "item", "owner", "follow", "retrospective",
	"gap", "ambiguous", "outdated", "conflicting", "guidance", "exception", "carveout", "precedent", "legal", "compliance",
	"regulator", "law", "enforcement_request", "subpoena", "transparency", "notice_and_action", "dsa", "statement", "reason", "appeal_window",
	// Descriptive words that make sentences read naturally.
	"multiple", "several", "repeated", "suspicious", "linked", "new", "old", "same", "shared", "similar",
	"high", "low", "large", "small", "rapid", "sudden", "ongoing", "confirmed", "suspected", "reported",
	"flagged", "removed", "restored", "blocked", "limited", "warned", "escalated", "closed", "reopened", "pending",
	"created", "used", "sent", "received", "posted", "listed", "sold", "bought", "paid", "charged",
	"accounts", "users", "reports", "listings", "payments", "refunds", "merchants", "sellers", "buyers", "orders",
	"messages", "profiles", "posts", "comments", "videos", "creators", "bots", "networks", "cards", "devices",
	"after", "before", "during", "within", "across", "between", "without", "through", "because", "despite",
	"first", "second", "third", "last", "next", "each", "every", "many", "few", "most",
	"day", "week", "month", "hour", "minute", "weekend", "holiday", "morning", "night", "peak",
	"platform", "app", "web", "android", "ios", "api", "partner", "integration", "channel", "surface",
}

// phrases are multi-word expressions a real case text is full of; the
// generator inserts them whole so that phrase queries have matches.
var phrases = []string{
	"ban evasion", "account takeover", "chargeback fraud", "refund abuse", "coordinated inauthentic behavior",
	"fake engagement", "review manipulation", "credential stuffing", "stolen card", "card testing",
	"friendly fraud", "triangulation fraud", "synthetic identity", "romance scam", "investment scam",
	"phishing link", "money mule", "gift card scam", "fake listing", "counterfeit goods",
	"livestream shopping", "creator fund", "promo abuse", "coupon stacking", "bot network",
	"follower farm", "click farm", "hate speech", "violent extremism", "child safety",
	"self harm", "nonconsensual intimate imagery", "doxxing campaign", "harassment campaign", "impersonation of a brand",
	"false positive rate", "detection gap", "policy gap", "human error", "vendor execution",
	"sla breach", "queue backlog", "training gap", "handoff failure", "rollback of the release",
	"root cause", "action item", "what went well", "where we got lucky", "lessons learned",
}

// tailSyllables build the rare tail: invented words (handles, product
// names, slang) that each appear in only a handful of documents.
var tailSyllables = []string{
	"ka", "zo", "mi", "ru", "vex", "tal", "bor", "nik", "sha", "qui", "dra", "lom", "pex", "tor", "wen", "yul",
	"fen", "gar", "hix", "jol", "kry", "lun", "mox", "nar", "osk", "pim", "rav", "sol", "tup", "vor", "wix", "zan",
}

// Field values.
var (
	policyAreas = []string{
		"fraud_scam", "spam", "fake_engagement", "impersonation", "harassment", "hate_speech",
		"violent_extremism", "child_safety", "self_harm", "regulated_goods", "misinformation",
		"ip_infringement", "privacy", "fake_reviews", "fraudulent_merchant",
	}
	caseStatuses     = []string{"new", "triage", "investigating", "pending_review", "actioned", "no_violation", "closed"}
	caseSeverities   = []string{"sev1", "sev2", "sev3", "sev4"}
	incidentStatuses = []string{"investigating", "mitigated", "resolved"}
	incSeverities    = []string{"sev0", "sev1", "sev2", "sev3"}
	rootCauseSubs    = map[string][]string{
		"product": {"bug", "tooling_gap", "detection_gap", "model_quality", "infrastructure"},
		"process": {"sop_gap", "training_gap", "human_error", "handoff", "capacity", "vendor_execution"},
		"policy":  {"policy_gap", "ambiguous_policy", "outdated_policy", "conflicting_guidance"},
	}
	rootCauseCats = []string{"product", "process", "policy"}
	tagValues     = []string{"repeat_offender", "high_value", "press", "regulator", "vip", "minor_involved", "cross_border", "automation"}
	// Teams t1..t8 and vendors v1..v4.
	Teams   = []string{"t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"}
	Vendors = []string{"v1", "v2", "v3", "v4"}
)
