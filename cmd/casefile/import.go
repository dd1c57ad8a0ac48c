package main

// `casefile import postmortems DIR` and `casefile import cases FILE.csv`:
// records made elsewhere, brought in through the domain services as a
// named user, reported file by file (or row by row) with line numbers.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/config"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/rca"
)

const importHelp = `usage:
  casefile import postmortems DIR [flags]
  casefile import cases FILE.csv [flags]

Imports records made outside Casefile, as the user named by --as (default
admin, who must exist and be an admin). Every record goes through the same
domain rules as the API, and is audited and indexed for search.

postmortems: every *.md file of DIR (not recursive) is one postmortem: YAML
front matter between two '---' lines (the incident, its RCA and action
items), then the postmortem's Markdown text in '## ' sections (Summary,
Impact, Timeline, Detection, Response, What went well, What went wrong,
Where we got lucky, Lessons; anything else goes to the body). Each file
becomes an incident with its RCA and a published postmortem, all or
nothing. Its import id is the front matter's id, else the file name without
.md: importing the same id again changes nothing.

cases: a CSV file with a header row; each row is one case, filed as through
POST /cases with an idempotency key from its external_id column, else from
its content, so importing the file again creates no duplicates (run it as
the same --as user: the key belongs to the user). Rows are independent.

Bad files and rows are reported with their line numbers, the others are
imported, and the command exits non-zero if anything failed.

With the embedded store, stop the server first: its database belongs to one
process, and the import is refused while the server runs (with MONGODB_URI
both may run at once).

flags:`

// importCmd dispatches `casefile import KIND`.
func importCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, importHelp)
		return nil
	}
	switch args[0] {
	case "postmortems":
		return importPostmortems(ctx, args[1:], getenv, stdout)
	case "cases":
		return importCases(ctx, args[1:], getenv, stdout)
	}
	return fmt.Errorf("casefile import: unknown kind %q: want postmortems or cases (see casefile import --help)", args[0])
}

// importOptions are the flags of both importers.
type importOptions struct {
	path           string
	cfg            config.Config
	as             string
	acknowledgePII bool
}

func parseImportFlags(kind string, args []string, getenv func(string) string, stdout io.Writer) (importOptions, error) {
	fs := flag.NewFlagSet("casefile import "+kind, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintln(stdout, importHelp)
		fs.PrintDefaults()
	}
	var o importOptions
	fs.StringVar(&o.as, "as", "admin", "the user the import acts as: must exist and be an admin")
	if kind == "postmortems" {
		fs.BoolVar(&o.acknowledgePII, "acknowledge-pii", false,
			"publish postmortems whose text the PII scan flags (e-mail addresses, phone numbers); without it they are refused")
	}
	finish := config.Register(fs, getenv)
	var err error
	if o.path, err = parseFileArgs(fs, args); err != nil {
		return o, err
	}
	o.cfg, err = finish()
	return o, err
}

// openAs opens the store and index like the other offline subcommands,
// brings the index up to date (an import indexes what it writes, which
// needs an index that has caught up) and resolves the acting user.
func openAs(ctx context.Context, o importOptions, stdout io.Writer) (*app, *auth.User, error) {
	a, err := open(ctx, o.cfg, newLogger(stdout, max(o.cfg.LogLevel, slog.LevelWarn)), nil)
	if err != nil {
		return nil, nil, err
	}
	if err := a.syncIndex(ctx); err != nil {
		a.close(ctx)
		return nil, nil, err
	}
	u, err := a.Auth.Lookup(ctx, o.as)
	if errs.Is(err, errs.NotFound) {
		err = fmt.Errorf("--as %s: no such user (create it with casefile user add, or start the server once to create admin)", o.as)
	} else if err == nil && u.Disabled {
		err = fmt.Errorf("--as %s: the user is disabled", o.as)
	}
	if err != nil {
		a.close(ctx)
		return nil, nil, err
	}
	return a, &u, nil
}

// importMeta ties the audit events of one run together.
func importMeta(kind string) auth.Meta {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return auth.Meta{IP: "cli", RequestID: "import-" + kind + "-" + hex.EncodeToString(b)}
}

// mayImport refuses, and audits the refusal, when u may not import.
func mayImport(ctx context.Context, a *app, u *auth.User, m auth.Meta, action, path string) error {
	if auth.Can(u, auth.ImportData, auth.Resource{}) {
		return nil
	}
	err := a.Audit.Record(ctx, auth.AuditEvent{User: u.Username, Role: u.Role, Action: action, IP: m.IP, RequestID: m.RequestID,
		Outcome: auth.OutcomeDenied, Detail: map[string]string{"path": path}})
	return errors.Join(fmt.Errorf("--as %s: only admins may import (%s is a %s)", u.Username, u.Username, u.Role), err)
}

// importProblem is one reported failure: a place and what is wrong.
type importProblem struct {
	file string
	line int
	msg  string
}

func (p importProblem) String() string {
	if p.line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.file, p.line, p.msg)
	}
	return fmt.Sprintf("%s: %s", p.file, p.msg)
}

// ---- postmortems ----

// importPostmortems is `casefile import postmortems DIR`.
func importPostmortems(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	o, err := parseImportFlags("postmortems", args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(o.path, "*.md"))
	if err != nil {
		return err
	}
	if info, err := os.Stat(o.path); err != nil || !info.IsDir() {
		return fmt.Errorf("casefile import postmortems: %s is not a directory", o.path)
	}
	if len(files) == 0 {
		return fmt.Errorf("casefile import postmortems: no *.md files in %s", o.path)
	}
	sort.Strings(files)

	// Parse every file before opening the store: a syntax error needs no
	// database, and refs must be unique across the run.
	type parsed struct {
		name string
		doc  *pmDocument
	}
	var todo []parsed
	var problems []importProblem
	refs := map[string]string{}
	for _, f := range files {
		name := filepath.Base(f)
		src, err := os.ReadFile(f)
		if err != nil {
			problems = append(problems, importProblem{file: name, msg: err.Error()})
			continue
		}
		doc, probs := parsePostmortemFile(name, src)
		if len(probs) > 0 {
			problems = append(problems, probs...)
			continue
		}
		if other, ok := refs[doc.imp.Ref]; ok {
			problems = append(problems, importProblem{file: name, line: doc.lineOf("ref"),
				msg: fmt.Sprintf("id %q is also the id of %s: give each file its own id", doc.imp.Ref, other)})
			continue
		}
		refs[doc.imp.Ref] = name
		todo = append(todo, parsed{name, doc})
	}

	a, u, err := openAs(ctx, o, stdout)
	if err != nil {
		return err
	}
	defer a.close(ctx)
	meta := importMeta("postmortems")
	if err := mayImport(ctx, a, u, meta, "postmortem.import", o.path); err != nil {
		return err
	}
	counts := map[rca.ImportOutcome]int{}
	var stopped error // not a problem of a file: the rest is not tried
	for _, p := range todo {
		if stopped = ctx.Err(); stopped != nil {
			break
		}
		p.doc.imp.AcknowledgePII = o.acknowledgePII
		res, err := a.RCA.ImportPostmortem(ctx, u, p.doc.imp, meta)
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Code == errs.Internal {
				stopped = fmt.Errorf("%s: %w (stopped there: the files after it were not tried)", p.name, err)
				break
			}
			problems = append(problems, p.doc.problems(err)...)
			continue
		}
		counts[res.Outcome]++
		what := map[rca.ImportOutcome]string{rca.ImportCreated: "created", rca.ImportCompleted: "completed an interrupted import",
			rca.ImportUnchanged: "imported before; unchanged"}[res.Outcome]
		fmt.Fprintf(stdout, "ok    %s -> %s (%s)\n", p.name, res.Incident.Key, what)
		for _, f := range res.Findings {
			fmt.Fprintf(stdout, "      %s:%d: %s: %s %q (published: --acknowledge-pii)\n", p.name, p.doc.lineOfMatch(f.Field, f.Match), f.Field, f.Kind, f.Match)
		}
	}
	slices.SortStableFunc(problems, func(a, b importProblem) int {
		return cmp.Or(strings.Compare(a.file, b.file), cmp.Compare(a.line, b.line))
	})
	for _, p := range problems {
		fmt.Fprintf(stdout, "FAIL  %s\n", p)
	}
	failedFiles := map[string]bool{}
	for _, p := range problems {
		failedFiles[p.file] = true
	}
	fmt.Fprintf(stdout, "postmortems: %d created, %d completed, %d unchanged, %d failed\n",
		counts[rca.ImportCreated], counts[rca.ImportCompleted], counts[rca.ImportUnchanged], len(failedFiles))
	if stopped != nil {
		return stopped
	}
	if len(failedFiles) > 0 {
		return fmt.Errorf("import postmortems: %d of %d files failed", len(failedFiles), len(files))
	}
	return nil
}

// pmFrontMatter is the YAML front matter of a postmortem file. Decoding
// is strict: a key not listed here is an error.
type pmFrontMatter struct {
	ID                  string         `yaml:"id"`
	Title               string         `yaml:"title"`
	Severity            string         `yaml:"severity"`
	Kind                string         `yaml:"kind"`
	StartedAt           *pmTime        `yaml:"started_at"`
	DetectedAt          *pmTime        `yaml:"detected_at"`
	MitigatedAt         *pmTime        `yaml:"mitigated_at"`
	ResolvedAt          *pmTime        `yaml:"resolved_at"`
	Owner               string         `yaml:"owner"`
	Detection           *string        `yaml:"detection"`
	Impact              *pmImpact      `yaml:"impact"`
	ProblemStatement    *string        `yaml:"problem_statement"`
	RootCauses          []pmRootCause  `yaml:"root_causes"`
	ContributingFactors []string       `yaml:"contributing_factors"`
	MitigationGaps      []pmGap        `yaml:"mitigation_gaps"`
	ActionItems         []pmActionItem `yaml:"action_items"`
}

type pmImpact struct {
	Text           *string  `yaml:"text"`
	AffectedActors int64    `yaml:"affected_actors"`
	ExposureCount  int64    `yaml:"exposure_count"`
	Regions        []string `yaml:"regions"`
}

type pmRootCause struct {
	Text        string   `yaml:"text"`
	Category    string   `yaml:"category"`
	Subcategory string   `yaml:"subcategory"`
	Vendor      string   `yaml:"vendor"`
	FiveWhys    []string `yaml:"five_whys"`
}

type pmGap struct {
	Mitigation string `yaml:"mitigation"`
	Why        string `yaml:"why"`
}

type pmActionItem struct {
	Title  string  `yaml:"title"`
	Owner  string  `yaml:"owner"`
	Due    *pmTime `yaml:"due"`
	Status string  `yaml:"status"`
	Kind   string  `yaml:"kind"`
	// Category is another name for kind.
	Category  string  `yaml:"category"`
	RootCause *int    `yaml:"root_cause"`
	DoneAt    *pmTime `yaml:"done_at"`
}

// pmTime is a time as written, parsed after decoding so that a bad one is
// reported at its line (yaml.v3 reports time.Time parse errors without
// one, measured).
type pmTime struct {
	raw  string
	line int
}

func (t *pmTime) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a time must be a single value such as 2026-01-02T15:04:05Z", n.Line)
	}
	t.raw, t.line = n.Value, n.Line
	return nil
}

// timeLayouts are the forms a time may take; without a zone it is UTC.
var timeLayouts = []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04",
	"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02 15:04 MST", "2006-01-02 15:04:05 MST", "2006-01-02"}

func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// pmDocument is a parsed postmortem file: the import, and where each of
// its fields came from.
type pmDocument struct {
	name string
	imp  rca.ImportedPostmortem
	// lines maps field paths (root_causes[1].text, postmortem.summary)
	// to file lines.
	lines map[string]int
	// text is the file's lines.
	text []string
}

// lineOfMatch is the first line at or after field's line that contains
// match (a PII finding), else field's line.
func (d *pmDocument) lineOfMatch(field, match string) int {
	from := d.lineOf(field)
	for i := from - 1; i >= 0 && i < len(d.text); i++ {
		if strings.Contains(d.text[i], match) {
			return i + 1
		}
	}
	return from
}

// lineOf is the line of field, or of the nearest enclosing field known,
// or 1 (the front matter's first line).
func (d *pmDocument) lineOf(field string) int {
	for _, f := range fieldAliases(field) {
		for p := f; p != ""; p = parentPath(p) {
			if l, ok := d.lines[p]; ok {
				return l
			}
		}
	}
	return 1
}

// fieldAliases lists the front-matter paths a domain field may come from.
func fieldAliases(field string) []string {
	switch {
	case strings.HasPrefix(field, "root_causes[") && strings.HasSuffix(field, ".description"):
		return []string{strings.TrimSuffix(field, ".description") + ".text"}
	case strings.HasPrefix(field, "action_items[") && strings.HasSuffix(field, ".kind"):
		return []string{field, strings.TrimSuffix(field, ".kind") + ".category"}
	case field == "detection":
		return []string{field, "postmortem.detection"}
	case field == "impact.text":
		return []string{field, "postmortem.impact"}
	case field == "problem_statement":
		return []string{field, "postmortem.summary"}
	case field == "ref":
		return []string{"id"}
	case field == "status":
		return []string{"resolved_at", "mitigated_at"}
	}
	return []string{field}
}

// parentPath drops the last segment: a.b[1].c -> a.b[1] -> a.b -> a.
func parentPath(p string) string {
	i := max(strings.LastIndexByte(p, '.'), strings.LastIndexByte(p, '['))
	if i <= 0 {
		return ""
	}
	return p[:i]
}

// problems turns an error of the service into reports at file lines.
func (d *pmDocument) problems(err error) []importProblem {
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return []importProblem{{file: d.name, msg: err.Error()}}
	}
	out := make([]importProblem, 0, len(e.Fields))
	for _, f := range e.Fields {
		line := d.lineOf(f.Field)
		if _, match, ok := strings.Cut(f.Message, ": "); ok && e.Code == errs.Conflict {
			line = d.lineOfMatch(f.Field, match)
		}
		out = append(out, importProblem{file: d.name, line: line, msg: f.Field + ": " + f.Message})
	}
	if e.Code == errs.Conflict && e.Message != "" {
		out = append(out, importProblem{file: d.name, msg: e.Message + " (--acknowledge-pii publishes it anyway)"})
	}
	return out
}

var (
	yamlLine       = regexp.MustCompile(`\bline (\d+)\b`)
	yamlUnknownKey = regexp.MustCompile(`field (\S+) not found in type \S+.*$`)
)

// shiftYAMLLines rewrites the "line N" of a yaml.v3 message, counted from
// the front matter's first line, as a line of the file.
func shiftYAMLLines(msg string, offset int) (string, int) {
	first := 0
	out := yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(yamlLine.FindStringSubmatch(m)[1])
		if first == 0 {
			first = n + offset
		}
		return "line " + strconv.Itoa(n+offset)
	})
	return out, first
}

// parsePostmortemFile reads one file: front matter, then sections.
func parsePostmortemFile(name string, src []byte) (*pmDocument, []importProblem) {
	bad := func(line int, format string, args ...any) []importProblem {
		return []importProblem{{file: name, line: line, msg: fmt.Sprintf(format, args...)}}
	}
	text := strings.TrimPrefix(strings.ReplaceAll(string(src), "\r\n", "\n"), "\ufeff")
	lines := strings.Split(text, "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "---" {
		return nil, bad(1, "no front matter: the file must start with a line '---', then YAML, then another '---'")
	}
	end := -1
	for i := 1; i < len(lines); i++ {
		if t := strings.TrimSpace(lines[i]); t == "---" || t == "..." {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, bad(1, "the front matter is not closed: add a line '---' after it")
	}
	yamlText := strings.Join(lines[1:end], "\n")
	// File line = YAML line + 1 (the opening ---).
	var fm pmFrontMatter
	dec := yaml.NewDecoder(strings.NewReader(yamlText))
	dec.KnownFields(true)
	if err := dec.Decode(&fm); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, bad(2, "the front matter is empty")
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var out []importProblem
			for _, m := range te.Errors {
				msg, line := shiftYAMLLines(yamlUnknownKey.ReplaceAllString(m, "unknown key $1"), 1)
				out = append(out, importProblem{file: name, line: line, msg: strings.TrimPrefix(msg, fmt.Sprintf("line %d: ", line))})
			}
			return nil, out
		}
		// yaml.v3 reports a parser error ("did not find expected ...") at
		// the 0-based line of its context, one less than the 1-based lines
		// of its other errors (measured: "a: 1\nb: [x\n" says line 1).
		offset := 1
		if strings.Contains(err.Error(), "did not find expected") {
			offset = 2
		}
		msg, line := shiftYAMLLines(strings.TrimPrefix(err.Error(), "yaml: "), offset)
		return nil, []importProblem{{file: name, line: line, msg: strings.TrimPrefix(msg, fmt.Sprintf("line %d: ", line))}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(yamlText), &root); err != nil {
		return nil, bad(2, "%v", err)
	}
	doc := &pmDocument{name: name, lines: map[string]int{}}
	if len(root.Content) > 0 {
		indexYAML(root.Content[0], "", 1, doc.lines)
	}
	doc.text = lines
	content, probs := parseSections(name, lines[end+1:], end+2, doc.lines)
	probs = append(probs, doc.fill(fm, content, strings.TrimSuffix(name, filepath.Ext(name)))...)
	if len(probs) > 0 {
		return nil, probs
	}
	return doc, nil
}

// indexYAML records the file line of every mapping key and sequence item
// under path.
func indexYAML(n *yaml.Node, path string, offset int, into map[string]int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			into[p] = k.Line + offset
			indexYAML(v, p, offset, into)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			into[p] = item.Line + offset
			indexYAML(item, p, offset, into)
		}
	}
}

// fill converts the front matter and sections into the import. Times
// that do not parse are reported here, at their lines.
func (d *pmDocument) fill(fm pmFrontMatter, c rca.Content, fileRef string) []importProblem {
	var probs []importProblem
	at := func(field string, t *pmTime) *time.Time {
		if t == nil {
			return nil
		}
		v, ok := parseTime(t.raw)
		if !ok {
			probs = append(probs, importProblem{file: d.name, line: t.line + 1,
				msg: fmt.Sprintf("%s: %q is not a time: write it as 2026-01-02T15:04:05Z (RFC 3339), 2026-01-02 15:04 (UTC) or 2026-01-02", field, t.raw)})
			return nil
		}
		return &v
	}
	ref := fm.ID
	if _, given := d.lines["id"]; !given {
		ref = fileRef
	}
	ni := rca.NewIncident{Kind: rca.Kind(fm.Kind), Title: fm.Title, Severity: rca.Severity(fm.Severity), Owner: fm.Owner,
		DetectedAt: at("detected_at", fm.DetectedAt), MitigatedAt: at("mitigated_at", fm.MitigatedAt), ResolvedAt: at("resolved_at", fm.ResolvedAt)}
	if s := at("started_at", fm.StartedAt); s != nil {
		ni.StartedAt = *s
	}
	ni.Detection = strings.TrimSpace(c.Detection)
	if fm.Detection != nil {
		ni.Detection = *fm.Detection
	}
	ni.Impact.Text = strings.TrimSpace(c.Impact)
	if fm.Impact != nil {
		ni.Impact.AffectedActors, ni.Impact.ExposureCount, ni.Impact.Regions = fm.Impact.AffectedActors, fm.Impact.ExposureCount, fm.Impact.Regions
		if fm.Impact.Text != nil {
			ni.Impact.Text = *fm.Impact.Text
		}
	}
	r := rca.RCA{ProblemStatement: strings.TrimSpace(c.Summary), ContributingFactors: fm.ContributingFactors}
	if fm.ProblemStatement != nil {
		r.ProblemStatement = *fm.ProblemStatement
	}
	for _, rc := range fm.RootCauses {
		r.RootCauses = append(r.RootCauses, rca.RootCause{Description: rc.Text, Category: rca.Category(rc.Category),
			Subcategory: rc.Subcategory, Vendor: rc.Vendor, FiveWhys: rc.FiveWhys})
	}
	for _, g := range fm.MitigationGaps {
		r.MitigationGaps = append(r.MitigationGaps, rca.MitigationGap{Mitigation: g.Mitigation, Why: g.Why})
	}
	var items []rca.ImportedActionItem
	for i, a := range fm.ActionItems {
		p := fmt.Sprintf("action_items[%d]", i)
		kind := a.Kind
		switch {
		case a.Kind != "" && a.Category != "" && a.Kind != a.Category:
			probs = append(probs, importProblem{file: d.name, line: d.lines[p+".category"],
				msg: p + ": kind and category name the same field and disagree; give one"})
		case kind == "":
			kind = a.Category
		}
		items = append(items, rca.ImportedActionItem{Title: a.Title, Owner: a.Owner, Due: at(p+".due", a.Due),
			Status: rca.ActionItemStatus(a.Status), Kind: kind, RootCause: a.RootCause, DoneAt: at(p+".done_at", a.DoneAt)})
	}
	d.imp = rca.ImportedPostmortem{Ref: ref, Incident: ni, RCA: r, ActionItems: items, Content: c}
	return probs
}

// pmSections maps a section heading (lower case) to its content field.
var pmSections = map[string]string{
	"summary": "summary", "impact": "impact", "timeline": "timeline", "detection": "detection", "response": "response",
	"what went well": "what_went_well", "what went wrong": "what_went_wrong", "where we got lucky": "where_we_got_lucky",
	"lessons": "lessons", "lessons learned": "lessons", "details": "body", "body": "body",
}

var fenceLine = regexp.MustCompile("^\\s{0,3}(```|~~~)")

// parseSections splits the Markdown after the front matter into the
// postmortem's sections; first is the file line of lines[0]. Text before
// the first section (less a leading '# ' title) is the summary when there
// is no Summary section, else the start of the body; unknown sections go
// to the body with their headings. It records section and timeline lines.
func parseSections(name string, lines []string, first int, into map[string]int) (rca.Content, []importProblem) {
	type section struct {
		field string
		line  int
		text  []string
	}
	var (
		secs    []*section
		pre     = &section{field: "", line: first}
		cur     = pre
		inFence bool
		probs   []importProblem
		seen    = map[string]int{}
	)
	for i, l := range lines {
		if fenceLine.MatchString(l) {
			inFence = !inFence
		}
		if !inFence && strings.HasPrefix(l, "## ") {
			heading := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(l[3:]), ":"))
			field, known := pmSections[strings.ToLower(heading)]
			if !known {
				field = "body"
			}
			if prev, dup := seen[field]; dup && known && field != "body" {
				probs = append(probs, importProblem{file: name, line: first + i,
					msg: fmt.Sprintf("section %q appears twice (also at line %d)", heading, prev)})
			}
			if _, ok := seen[field]; !ok {
				seen[field] = first + i
			}
			cur = &section{field: field, line: first + i}
			if !known {
				cur.text = []string{l}
			}
			secs = append(secs, cur)
			continue
		}
		cur.text = append(cur.text, l)
	}
	var c rca.Content
	var body []string
	if txt := strings.TrimSpace(strings.Join(pre.text, "\n")); txt != "" {
		// A leading "# Title" repeats the front matter's title.
		if ls := strings.SplitN(txt, "\n", 2); strings.HasPrefix(ls[0], "# ") {
			txt = ""
			if len(ls) == 2 {
				txt = strings.TrimSpace(ls[1])
			}
		}
		if txt != "" {
			if _, ok := seen["summary"]; ok {
				body = append(body, txt)
			} else {
				c.Summary = txt
				into["postmortem.summary"] = pre.line
			}
		}
	}
	for _, s := range secs {
		txt := strings.TrimSpace(strings.Join(s.text, "\n"))
		if _, ok := into["postmortem."+s.field]; !ok {
			into["postmortem."+s.field] = s.line
		}
		switch s.field {
		case "summary":
			c.Summary = txt
		case "impact":
			c.Impact = txt
		case "detection":
			c.Detection = txt
		case "response":
			c.Response = txt
		case "what_went_well":
			c.WhatWentWell = txt
		case "what_went_wrong":
			c.WhatWentWrong = txt
		case "where_we_got_lucky":
			c.WhereWeGotLucky = txt
		case "lessons":
			c.Lessons = txt
		case "body":
			if txt != "" {
				body = append(body, txt)
			}
		case "timeline":
			items, tp := parseTimeline(name, s.text, s.line+1, into)
			c.Timeline = items
			probs = append(probs, tp...)
		}
	}
	c.Body = strings.Join(body, "\n\n")
	return c, probs
}

var timelineSeparators = []string{": ", " — ", " – ", " - "}

// parseTimeline reads "- <time>: <event>" items; an indented line
// continues the item above it.
func parseTimeline(name string, lines []string, first int, into map[string]int) ([]rca.TimelineItem, []importProblem) {
	var (
		items []rca.TimelineItem
		probs []importProblem
	)
	for i, l := range lines {
		line := first + i
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			continue
		case strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* "):
		case len(items) > 0 && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")):
			items[len(items)-1].Event += " " + t
			continue
		default:
			probs = append(probs, importProblem{file: name, line: line, msg: "timeline: write each entry as a list item '- 2026-01-02T15:04:05Z: what happened'"})
			continue
		}
		entry := strings.TrimSpace(t[2:])
		var (
			at    time.Time
			event string
			ok    bool
		)
		for _, sep := range timelineSeparators {
			if j := strings.Index(entry, sep); j > 0 {
				if at, ok = parseTime(entry[:j]); ok {
					event = strings.TrimSpace(entry[j+len(sep):])
					break
				}
			}
		}
		if !ok {
			probs = append(probs, importProblem{file: name, line: line,
				msg: fmt.Sprintf("timeline: %q does not start with a time and a separator, as in '- 2026-01-02T15:04:05Z: what happened'", entry)})
			continue
		}
		into[fmt.Sprintf("postmortem.timeline[%d]", len(items))] = line
		items = append(items, rca.TimelineItem{At: at, Event: event})
	}
	return items, probs
}

// ---- cases ----

// caseColumns are the CSV columns: required ones first.
var (
	caseRequiredColumns = []string{"title", "actor_id", "policy_areas", "severity", "source_kind", "source_channel"}
	caseOptionalColumns = []string{"summary", "actor_handle", "team", "vendor", "assignee", "restricted", "tags", "external_id"}
)

// maxExternalID keeps the derived Idempotency-Key within its 200 bytes.
const maxExternalID = 180

// importCases is `casefile import cases FILE.csv`.
func importCases(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	o, err := parseImportFlags("cases", args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	src, err := os.ReadFile(o.path)
	if err != nil {
		return err
	}
	name := filepath.Base(o.path)
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(src, []byte("\ufeff"))))
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s:1: reading the header row: %w", name, err)
	}
	cols, err := caseHeader(header)
	if err != nil {
		return fmt.Errorf("%s:1: %w", name, err)
	}

	a, u, err := openAs(ctx, o, stdout)
	if err != nil {
		return err
	}
	defer a.close(ctx)
	meta := importMeta("cases")
	if err := mayImport(ctx, a, u, meta, "case.import", o.path); err != nil {
		return err
	}

	created, existing, failed := 0, 0, 0
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			failed++
			fmt.Fprintf(stdout, "FAIL  %s:%d: %v\n", name, pe.StartLine, pe.Err)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		line, _ := r.FieldPos(0)
		lineOf := func(field string) int {
			col, ok := cols[caseColumnOf(field)]
			if !ok {
				return line
			}
			l, _ := r.FieldPos(col)
			return l
		}
		nc, key, probs := caseRow(rec, cols)
		if len(probs) > 0 {
			failed++
			for _, p := range probs {
				fmt.Fprintf(stdout, "FAIL  %s:%d: %s\n", name, lineOf(p.Field), p.Field+": "+p.Message)
			}
			continue
		}
		c, isNew, err := a.Cases.Create(ctx, u, nc, key, meta)
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Code == errs.Internal {
				return fmt.Errorf("%s:%d: %w (stopped there: the rows after it were not tried)", name, line, err)
			}
			failed++
			if len(e.Fields) == 0 {
				fmt.Fprintf(stdout, "FAIL  %s:%d: %s\n", name, line, e.Message)
			}
			for _, f := range e.Fields {
				fmt.Fprintf(stdout, "FAIL  %s:%d: %s: %s\n", name, lineOf(f.Field), caseColumnOf(f.Field), f.Message)
			}
			continue
		}
		if isNew {
			created++
			fmt.Fprintf(stdout, "ok    %s:%d -> %s (created)\n", name, line, c.Key)
		} else {
			existing++
			fmt.Fprintf(stdout, "ok    %s:%d -> %s (imported before; unchanged)\n", name, line, c.Key)
		}
	}
	fmt.Fprintf(stdout, "cases: %d created, %d unchanged, %d failed\n", created, existing, failed)
	if failed > 0 {
		return fmt.Errorf("import cases: %d rows failed", failed)
	}
	return nil
}

// caseHeader maps column names to positions: every required column, any
// optional one, nothing else, each once.
func caseHeader(header []string) (map[string]int, error) {
	cols := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(caseRequiredColumns, h) && !slices.Contains(caseOptionalColumns, h) {
			return nil, fmt.Errorf("unknown column %q: the columns are %s, and optionally %s", h,
				strings.Join(caseRequiredColumns, ", "), strings.Join(caseOptionalColumns, ", "))
		}
		if _, dup := cols[h]; dup {
			return nil, fmt.Errorf("column %q appears twice", h)
		}
		cols[h] = i
	}
	var missing []string
	for _, c := range caseRequiredColumns {
		if _, ok := cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing column(s) %s", strings.Join(missing, ", "))
	}
	return cols, nil
}

// caseColumnOf is the CSV column a field of cases.NewCase comes from.
func caseColumnOf(field string) string {
	switch {
	case field == "actor.actor_id":
		return "actor_id"
	case field == "actor.handle":
		return "actor_handle"
	case field == "Idempotency-Key":
		return "external_id"
	}
	if i := strings.IndexByte(field, '['); i > 0 {
		return field[:i]
	}
	return field
}

// caseRow converts a row into the input of cases.Service.Create and its
// idempotency key: from external_id when given, else from the content.
func caseRow(rec []string, cols map[string]int) (cases.NewCase, string, errs.Fields) {
	get := func(c string) string {
		if i, ok := cols[c]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	list := func(c string) []string {
		var out []string
		for _, v := range strings.Split(get(c), ";") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	var f errs.Fields
	nc := cases.NewCase{Title: get("title"), Summary: get("summary"), Actor: cases.ActorRef{ActorID: get("actor_id"), Handle: get("actor_handle")},
		PolicyAreas: list("policy_areas"), Severity: cases.Severity(get("severity")), SourceKind: get("source_kind"),
		SourceChannel: get("source_channel"), Team: get("team"), Vendor: get("vendor"), Assignee: get("assignee"), Tags: list("tags")}
	switch strings.ToLower(get("restricted")) {
	case "", "false", "no", "0":
	case "true", "yes", "1":
		nc.Restricted = true
	default:
		f.Add("restricted", "must be true or false")
	}
	ext := get("external_id")
	if len(ext) > maxExternalID {
		f.Add("external_id", "must be at most %d bytes", maxExternalID)
	}
	if len(f) > 0 {
		return nc, "", f
	}
	if ext != "" {
		return nc, "import:csv:id:" + ext, nil
	}
	b, _ := json.Marshal(nc)
	sum := sha256.Sum256(b)
	return nc, "import:csv:sha256:" + hex.EncodeToString(sum[:]), nil
}
