package quality

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
)

// CalibrationSet is a set of reference cases with agreed answers. Leads
// build it and assign it to agents (one by one, or every agent of a
// vendor); each assignee answers every case blind, once, and is scored
// against the reference.
type CalibrationSet struct {
	ID          string            `bson:"_id" json:"id"`
	Name        string            `bson:"name" json:"name"`
	Items       []CalibrationItem `bson:"items" json:"items"`
	Assignments []Assignment      `bson:"assignments" json:"assignments"`
	CreatedBy   string            `bson:"created_by" json:"created_by"`
	CreatedAt   time.Time         `bson:"created_at" json:"created_at"`
	Version     int64             `bson:"version" json:"version"`
}

// CalibrationItem is one reference case and its agreed answer. The answer
// is zero (and left out of JSON) in an assignee's view.
type CalibrationItem struct {
	CaseID  string `bson:"case_id" json:"case_id"`
	CaseKey string `bson:"case_key" json:"case_key"`
	Answer  Answer `bson:"answer" json:"answer,omitzero"`
}

// Answer is a judgement of a case: the verdict and, for a violation, the
// policy area and the enforcement action (none when Action is empty).
type Answer struct {
	Verdict    cases.Verdict `bson:"verdict" json:"verdict"`
	Action     cases.Action  `bson:"action,omitempty" json:"action,omitempty"`
	PolicyArea string        `bson:"policy_area,omitempty" json:"policy_area,omitempty"`
}

// Assignment is one assignee's run through a set. Vendor and Team are the
// user's at assignment, so scores stay with the group the work was done for.
type Assignment struct {
	User        string        `bson:"user" json:"user"`
	Vendor      string        `bson:"vendor,omitempty" json:"vendor,omitempty"`
	Team        string        `bson:"team,omitempty" json:"team,omitempty"`
	AssignedAt  time.Time     `bson:"assigned_at" json:"assigned_at"`
	SubmittedAt *time.Time    `bson:"submitted_at,omitempty" json:"submitted_at,omitempty"`
	Answers     []GivenAnswer `bson:"answers" json:"answers"`
	Correct     int           `bson:"correct" json:"correct"`
	// Score is Correct over the number of items, set on submission.
	Score *float64 `bson:"score,omitempty" json:"score"`
}

// GivenAnswer is an assignee's answer for one case of the set.
type GivenAnswer struct {
	CaseID string `bson:"case_id" json:"case_id"`
	Answer `bson:",inline"`
}

// NewCalibrationItem is the input of one item: a case id or key and its
// agreed answer.
type NewCalibrationItem struct {
	Case   string
	Answer Answer
}

// CalibrationScore is a group's calibration result: how many submitted
// assignments and the mean of their scores.
type CalibrationScore struct {
	Assignments int     `json:"assignments"`
	Score       float64 `json:"score"`
}

// UserLister lists user accounts; auth.Service implements it.
type UserLister interface {
	ListUsers(ctx context.Context, by *auth.User, limit int, after string, m auth.Meta) ([]auth.User, string, int64, error)
}

// Limits of a calibration set. 250 assignees of 200 answers each keep the
// document well under MongoDB's 16 MB.
const (
	maxCalibrationItems       = 200
	maxCalibrationAssignments = 250
	maxCalibrationNameLen     = 200
	calibrationEntity         = "qa_calibration_set"
)

// calibrationVerdicts are the verdicts an answer may give (cases keeps its
// own list unexported and has no Verdict.Valid).
var calibrationVerdicts = []cases.Verdict{cases.VerdictViolation, cases.VerdictNoViolation, cases.VerdictInsufficientEvidence}

// listingDirectory is the directory with a user list attached by
// UseUserList; it lets the list travel in the existing users field.
type listingDirectory struct {
	Directory
	UserLister
}

// UseUserList gives the service the user list that assigning a set to a
// vendor reads. auth.Service (the usual Directory) already is one, so
// this is only needed to use another list.
func (s *Service) UseUserList(l UserLister) {
	s.users = listingDirectory{Directory: s.users, UserLister: l}
}

func (s *Service) userList() UserLister {
	l, _ := s.users.(UserLister)
	return l
}

func (s *Service) recordSet(ctx context.Context, u *auth.User, m auth.Meta, action, id, outcome string, detail map[string]string) error {
	return s.audit.Record(ctx, auth.AuditEvent{User: u.Username, Role: u.Role, Action: action, Entity: auth.Entity{Type: calibrationEntity, ID: id},
		IP: m.IP, RequestID: m.RequestID, Outcome: outcome, Detail: detail})
}

// validate checks a through prefix (e.g. "items[3].") against the policy
// areas of the taxonomy: a violation names its policy area and may name an
// action; other verdicts name neither.
func (a Answer) validate(f *errs.Fields, prefix string, areas []string) {
	if !slices.Contains(calibrationVerdicts, a.Verdict) {
		f.Add(prefix+"verdict", "must be violation, no_violation or insufficient_evidence")
	}
	violation := a.Verdict == cases.VerdictViolation
	switch {
	case a.Action != "" && !a.Action.Valid():
		names := make([]string, len(cases.Actions))
		for i, x := range cases.Actions {
			names[i] = string(x)
		}
		f.Add(prefix+"action", "must be empty (no enforcement) or one of %s", strings.Join(names, ", "))
	case a.Action != "" && !violation:
		f.Add(prefix+"action", "only a violation has an enforcement action")
	}
	switch {
	case violation && a.PolicyArea == "":
		f.Add(prefix+"policy_area", "is required for a violation")
	case violation && !slices.Contains(areas, a.PolicyArea):
		f.Add(prefix+"policy_area", "is not a policy area of the taxonomy")
	case !violation && a.PolicyArea != "":
		f.Add(prefix+"policy_area", "only a violation has a policy area")
	}
}

func (s *Service) policyAreas(ctx context.Context) ([]string, error) {
	tax, _, err := s.cases.Taxonomy(ctx)
	if err != nil {
		return nil, err
	}
	return tax.PolicyAreas, nil
}

// CreateCalibrationSet stores a new set of reference cases (leads and
// admins). Every case must exist and be readable by the creator, once.
func (s *Service) CreateCalibrationSet(ctx context.Context, u *auth.User, name string, items []NewCalibrationItem, m auth.Meta) (CalibrationSet, error) {
	if !auth.Can(u, auth.ReviewQuality, auth.Resource{}) {
		_ = s.recordSet(ctx, u, m, "qa.calibration.create", "", auth.OutcomeDenied, nil)
		return CalibrationSet{}, errs.E(errs.Forbidden, "your role may not build calibration sets")
	}
	areas, err := s.policyAreas(ctx)
	if err != nil {
		return CalibrationSet{}, err
	}
	var f errs.Fields
	f.Text("name", name, maxCalibrationNameLen, true)
	if len(items) == 0 || len(items) > maxCalibrationItems {
		f.Add("items", "must list 1 to %d cases", maxCalibrationItems)
		return CalibrationSet{}, f.Err()
	}
	badRef := make([]bool, len(items))
	for i, it := range items {
		prefix := "items[" + strconv.Itoa(i) + "]."
		n := len(f)
		f.Text(prefix+"case", it.Case, 64, true)
		badRef[i] = len(f) > n
		it.Answer.validate(&f, prefix, areas)
	}
	set := CalibrationSet{Name: name, Items: make([]CalibrationItem, 0, len(items)), Assignments: []Assignment{},
		CreatedBy: u.Username, CreatedAt: s.clock(), Version: 1}
	seen := map[string]int{}
	for i, it := range items {
		field := "items[" + strconv.Itoa(i) + "].case"
		if badRef[i] {
			continue // named above
		}
		c, err := s.cases.Get(ctx, u, it.Case, m)
		if errs.Is(err, errs.NotFound) {
			f.Add(field, "is not a case you can read")
			continue
		}
		if err != nil {
			return CalibrationSet{}, err
		}
		if j, ok := seen[c.ID]; ok {
			f.Add(field, "repeats items[%d] (%s)", j, c.Key)
			continue
		}
		seen[c.ID] = i
		set.Items = append(set.Items, CalibrationItem{CaseID: c.ID, CaseKey: c.Key, Answer: it.Answer})
	}
	if err := f.Err(); err != nil {
		return CalibrationSet{}, err
	}
	set.ID = newSetID()
	if err := s.store.db.Insert(ctx, setsColl, set); err != nil {
		return CalibrationSet{}, err
	}
	return set, s.recordSet(ctx, u, m, "qa.calibration.create", set.ID, auth.OutcomeSuccess,
		map[string]string{"name": set.Name, "items": strconv.Itoa(len(set.Items))})
}

func newSetID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Service) loadSet(ctx context.Context, id string) (CalibrationSet, error) {
	var set CalibrationSet
	if id == "" || len(id) > 64 {
		return set, errs.E(errs.NotFound, "calibration set not found")
	}
	err := s.store.db.FindByID(ctx, setsColl, id, &set)
	if errs.Is(err, errs.NotFound) {
		return set, errs.E(errs.NotFound, "calibration set not found")
	}
	return set, err
}

// updateSet applies change to the stored set and writes it at the next
// version; on a lost race it reloads and applies change again (change
// must decide from the set it is given). A change that reports no change
// writes nothing.
func (s *Service) updateSet(ctx context.Context, id string, change func(*CalibrationSet) (bool, error)) (CalibrationSet, error) {
	for range 5 {
		set, err := s.loadSet(ctx, id)
		if err != nil {
			return CalibrationSet{}, err
		}
		changed, err := change(&set)
		if err != nil || !changed {
			return set, err
		}
		expected := set.Version
		set.Version++
		err = s.store.db.ReplaceVersioned(ctx, setsColl, set.ID, expected, set)
		if errs.Is(err, errs.PreconditionFailed) {
			continue
		}
		return set, err
	}
	return CalibrationSet{}, errs.E(errs.PreconditionFailed, "the calibration set is being changed by others; retry")
}

// AssignCalibrationSet assigns a set to the named users and to every
// enabled vendor agent of vendor (leads and admins). Each assignee must be
// able to read every case of the set, or nothing is assigned: a set never
// shows an agent a case they may not read (another vendor's, a restricted
// one). Assigning someone again changes nothing.
func (s *Service) AssignCalibrationSet(ctx context.Context, u *auth.User, id string, users []string, vendor string, m auth.Meta) (CalibrationSet, error) {
	if !auth.Can(u, auth.ReviewQuality, auth.Resource{}) {
		_ = s.recordSet(ctx, u, m, "qa.calibration.assign", id, auth.OutcomeDenied, nil)
		return CalibrationSet{}, errs.E(errs.Forbidden, "your role may not assign calibration sets")
	}
	var f errs.Fields
	if len(users) == 0 && vendor == "" {
		f.Add("users", "name users or a vendor to assign the set to")
	}
	if len(users) > maxCalibrationAssignments {
		f.Add("users", "at most %d users at a time", maxCalibrationAssignments)
		return CalibrationSet{}, f.Err()
	}
	if vendor != "" && !tokenPattern.MatchString(vendor) {
		f.Add("vendor", "is not a vendor name")
	}
	for i, name := range users {
		f.Text("users["+strconv.Itoa(i)+"]", name, 64, true)
	}
	if err := f.Err(); err != nil {
		return CalibrationSet{}, err
	}
	set, err := s.loadSet(ctx, id)
	if err != nil {
		return CalibrationSet{}, err
	}

	// Who: the named users, then the vendor's agents, each once.
	type assignee struct {
		user  auth.User
		field string
	}
	var list []assignee
	named := map[string]bool{}
	for i, name := range users {
		field := "users[" + strconv.Itoa(i) + "]"
		if named[name] {
			continue
		}
		named[name] = true
		a, err := s.users.Lookup(ctx, name)
		switch {
		case errs.Is(err, errs.NotFound):
			f.Add(field, "no user %q", name)
			continue
		case err != nil:
			return CalibrationSet{}, err
		case a.Disabled:
			f.Add(field, "%s is disabled", name)
			continue
		}
		list = append(list, assignee{a, field})
	}
	if vendor != "" {
		agents, err := s.vendorAgents(ctx, vendor, m)
		if err != nil {
			return CalibrationSet{}, err
		}
		if len(agents) == 0 {
			f.Add("vendor", "vendor %s has no enabled vendor agents", vendor)
		}
		for _, a := range agents {
			if !named[a.Username] {
				named[a.Username] = true
				list = append(list, assignee{a, "vendor"})
			}
		}
	}

	// Each new assignee must be able to read every case, as the case is now.
	var fresh []assignee
	for _, a := range list {
		if !slices.ContainsFunc(set.Assignments, func(x Assignment) bool { return x.User == a.user.Username }) {
			fresh = append(fresh, a)
		}
	}
	if len(fresh) > 0 {
		for _, it := range set.Items {
			c, err := s.cases.Get(ctx, u, it.CaseID, m)
			if errs.Is(err, errs.NotFound) {
				f.Add("items", "case %s of the set can no longer be read", it.CaseKey)
				continue
			}
			if err != nil {
				return CalibrationSet{}, err
			}
			for _, a := range fresh {
				if !auth.Can(&a.user, auth.ReadCase, c.Resource()) {
					f.Add(a.field, "%s may not read case %s", a.user.Username, c.Key)
				}
			}
		}
	}
	if err := f.Err(); err != nil {
		return CalibrationSet{}, err
	}

	now := s.clock()
	var added []string
	set, err = s.updateSet(ctx, set.ID, func(set *CalibrationSet) (bool, error) {
		added = added[:0]
		for _, a := range fresh {
			if slices.ContainsFunc(set.Assignments, func(x Assignment) bool { return x.User == a.user.Username }) {
				continue
			}
			set.Assignments = append(set.Assignments, Assignment{User: a.user.Username, Vendor: a.user.Vendor, Team: a.user.Team,
				AssignedAt: now, Answers: []GivenAnswer{}})
			added = append(added, a.user.Username)
		}
		if len(set.Assignments) > maxCalibrationAssignments {
			return false, &errs.Error{Code: errs.Invalid, Message: "too many assignees",
				Fields: []errs.FieldError{{Field: "users", Message: fmt.Sprintf("a calibration set has at most %d assignees", maxCalibrationAssignments)}}}
		}
		return len(added) > 0, nil
	})
	if err != nil || len(added) == 0 {
		return set, err
	}
	return set, s.recordSet(ctx, u, m, "qa.calibration.assign", set.ID, auth.OutcomeSuccess,
		map[string]string{"users": strings.Join(added, ","), "vendor": vendor})
}

// vendorAgents lists the enabled vendor agents of vendor. Listing users is
// an admin's right for clients; this read is the service's own (as the
// system user), and only usernames of the vendor's agents leave it.
func (s *Service) vendorAgents(ctx context.Context, vendor string, m auth.Meta) ([]auth.User, error) {
	l := s.userList()
	if l == nil {
		return nil, errors.New("quality: assigning to a vendor needs a user list (UseUserList)")
	}
	var out []auth.User
	after := ""
	for {
		page, next, _, err := l.ListUsers(ctx, &auth.System, 200, after, m)
		if err != nil {
			return nil, err
		}
		for _, x := range page {
			if x.Role == auth.RoleVendorAgent && x.Vendor == vendor && !x.Disabled {
				out = append(out, x)
			}
		}
		if next == "" || next == after {
			return out, nil
		}
		after = next
	}
}

// SubmitCalibrationAnswers records an assignee's answers, one for every
// case of the set, once, and scores them: an answer is correct when its
// verdict, action and policy area all equal the reference.
func (s *Service) SubmitCalibrationAnswers(ctx context.Context, u *auth.User, id string, answers []GivenAnswer, m auth.Meta) (CalibrationSet, error) {
	set, err := s.loadSet(ctx, id)
	if err != nil {
		return CalibrationSet{}, err
	}
	if !slices.ContainsFunc(set.Assignments, func(a Assignment) bool { return a.User == u.Username }) {
		if auth.Can(u, auth.ReviewQuality, auth.Resource{}) {
			_ = s.recordSet(ctx, u, m, "qa.calibration.submit", set.ID, auth.OutcomeDenied, nil)
			return CalibrationSet{}, errs.E(errs.Forbidden, "only an assignee answers a calibration set")
		}
		return CalibrationSet{}, errs.E(errs.NotFound, "calibration set not found")
	}
	areas, err := s.policyAreas(ctx)
	if err != nil {
		return CalibrationSet{}, err
	}

	// Every case exactly once, by id or key; stored by id in set order.
	byCase := map[string]int{}
	for i, it := range set.Items {
		byCase[it.CaseID], byCase[it.CaseKey] = i, i
	}
	given := make([]*GivenAnswer, len(set.Items))
	var f errs.Fields
	if len(answers) > len(set.Items) {
		f.Add("answers", "the set has %d cases; answer each once", len(set.Items))
	}
	for i, a := range answers {
		prefix := "answers[" + strconv.Itoa(i) + "]."
		a.Answer.validate(&f, prefix, areas)
		j, ok := byCase[a.CaseID]
		switch {
		case !ok:
			f.Add(prefix+"case_id", "is not a case of this set")
		case given[j] != nil:
			f.Add(prefix+"case_id", "answers %s a second time", set.Items[j].CaseKey)
		default:
			a.CaseID = set.Items[j].CaseID
			given[j] = &a
		}
	}
	var missing []string
	for j, g := range given {
		if g == nil {
			missing = append(missing, set.Items[j].CaseKey)
		}
	}
	if len(missing) > 0 {
		f.Add("answers", "no answer for %s", strings.Join(missing, ", "))
	}
	if err := f.Err(); err != nil {
		return CalibrationSet{}, err
	}

	ordered := make([]GivenAnswer, len(given))
	correct := 0
	for j, g := range given {
		ordered[j] = *g
		if g.Answer == set.Items[j].Answer {
			correct++
		}
	}
	score := float64(correct) / float64(len(set.Items))
	now := s.clock()
	set, err = s.updateSet(ctx, set.ID, func(set *CalibrationSet) (bool, error) {
		i := slices.IndexFunc(set.Assignments, func(a Assignment) bool { return a.User == u.Username })
		if i < 0 {
			return false, errs.E(errs.NotFound, "calibration set not found")
		}
		a := &set.Assignments[i]
		if a.SubmittedAt != nil {
			return false, errs.E(errs.Conflict, "you already answered this calibration set")
		}
		a.SubmittedAt, a.Answers, a.Correct, a.Score = &now, ordered, correct, &score
		return true, nil
	})
	if err != nil {
		return CalibrationSet{}, err
	}
	if err := s.recordSet(ctx, u, m, "qa.calibration.submit", set.ID, auth.OutcomeSuccess,
		map[string]string{"correct": strconv.Itoa(correct), "items": strconv.Itoa(len(set.Items))}); err != nil {
		return CalibrationSet{}, err
	}
	view, _ := calibrationView(u, set)
	return view, nil
}

// GetCalibrationSet reads a set: reviewers see all of it; an assignee sees
// the cases and their own assignment only, never the reference answers or
// anyone else's; to anyone else it does not exist.
func (s *Service) GetCalibrationSet(ctx context.Context, u *auth.User, id string) (CalibrationSet, error) {
	set, err := s.loadSet(ctx, id)
	if err != nil {
		return CalibrationSet{}, err
	}
	view, ok := calibrationView(u, set)
	if !ok {
		return CalibrationSet{}, errs.E(errs.NotFound, "calibration set not found")
	}
	return view, nil
}

// ListCalibrationSets lists the sets u may see, newest first: every set
// for reviewers, the sets assigned to u (as GetCalibrationSet shows them)
// for anyone else. Sets are few; the list is not paged here.
func (s *Service) ListCalibrationSets(ctx context.Context, u *auth.User) ([]CalibrationSet, error) {
	var f store.Filter
	if !auth.Can(u, auth.ReviewQuality, auth.Resource{}) {
		f = store.Filter{{Key: "assignments.user", Value: u.Username}}
	}
	sets, err := s.findSets(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]CalibrationSet, 0, len(sets))
	for _, set := range sets {
		if view, ok := calibrationView(u, set); ok {
			out = append(out, view)
		}
	}
	return out, nil
}

func (s *Service) findSets(ctx context.Context, f store.Filter) ([]CalibrationSet, error) {
	cur, err := s.store.db.Collection(setsColl).Find(ctx, f.D(),
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := []CalibrationSet{}
	return out, cur.All(ctx, &out)
}

// calibrationView is what u may see of set, and whether u may see it at all.
func calibrationView(u *auth.User, set CalibrationSet) (CalibrationSet, bool) {
	if set.Assignments == nil {
		set.Assignments = []Assignment{}
	}
	for i := range set.Assignments {
		if set.Assignments[i].Answers == nil {
			set.Assignments[i].Answers = []GivenAnswer{}
		}
	}
	if auth.Can(u, auth.ReviewQuality, auth.Resource{}) {
		return set, true
	}
	if u == nil || u.Disabled {
		return CalibrationSet{}, false
	}
	i := slices.IndexFunc(set.Assignments, func(a Assignment) bool { return a.User == u.Username })
	if i < 0 {
		return CalibrationSet{}, false
	}
	own := set.Assignments[i]
	set.Assignments = []Assignment{own}
	items := make([]CalibrationItem, len(set.Items))
	for j, it := range set.Items {
		items[j] = CalibrationItem{CaseID: it.CaseID, CaseKey: it.CaseKey}
	}
	set.Items = items
	return set, true
}

// CalibrationScores is the calibration result of every agent, vendor or
// team (by: "agent", "vendor" or "team", taken from the assignment) over
// the submissions in [from, to) (a zero bound is open): the number of
// submitted assignments and their mean score. It reads every set — a full
// scan, acceptable because calibration sets are few and small.
func (s *Service) CalibrationScores(ctx context.Context, by string, from, to time.Time) (map[string]CalibrationScore, error) {
	key := map[string]func(Assignment) string{
		"agent":  func(a Assignment) string { return a.User },
		"vendor": func(a Assignment) string { return a.Vendor },
		"team":   func(a Assignment) string { return a.Team },
	}[by]
	if key == nil {
		return nil, &errs.Error{Code: errs.Invalid, Message: "unknown grouping",
			Fields: []errs.FieldError{{Field: "by", Message: "must be agent, vendor or team"}}}
	}
	sets, err := s.findSets(ctx, nil)
	if err != nil {
		return nil, err
	}
	sums := map[string]float64{}
	out := map[string]CalibrationScore{}
	for _, set := range sets {
		for _, a := range set.Assignments {
			if a.SubmittedAt == nil || a.Score == nil || key(a) == "" {
				continue
			}
			at := *a.SubmittedAt
			if (!from.IsZero() && at.Before(from)) || (!to.IsZero() && !at.Before(to)) {
				continue
			}
			k := key(a)
			sums[k] += *a.Score
			sc := out[k]
			sc.Assignments++
			sc.Score = sums[k] / float64(sc.Assignments)
			out[k] = sc
		}
	}
	return out, nil
}
