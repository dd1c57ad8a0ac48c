package auth

import (
	"context"
	"strconv"
	"time"

	"casefile.dev/casefile/internal/errs"
)

// Preferences are settings each user chooses for themselves.
type Preferences struct {
	// RevealMedia shows evidence images and videos unblurred by default.
	// Off (the default), every item is blurred and grey until revealed
	// one by one: reviewers see harmful content every day.
	RevealMedia bool `bson:"reveal_media" json:"reveal_media"`
}

// SetPreferences stores u's own preferences. Anyone signed in may set
// theirs, and only theirs; the change is audited like other user changes
// and moves the user's version on, so an admin's edit made meanwhile from
// an older read is refused rather than undoing it.
func (s *Service) SetPreferences(ctx context.Context, u *User, p Preferences, m Meta) (User, error) {
	if u == nil || u.Disabled {
		return User{}, errs.E(errs.Unauthenticated, "sign in")
	}
	ent := Entity{Type: "user", ID: u.Username}
	for range 10 {
		var cur User
		if err := s.db.FindByID(ctx, usersCollection, u.Username, &cur); err != nil {
			return User{}, err
		}
		if cur.Disabled {
			return User{}, errs.E(errs.Unauthenticated, "sign in")
		}
		expected := cur.Version
		cur.Preferences = p
		cur.Version++
		cur.UpdatedAt = s.now().UTC().Truncate(time.Millisecond) // what MongoDB stores
		err := s.db.ReplaceVersioned(ctx, usersCollection, cur.Username, expected, cur)
		s.principals.invalidate()
		if errs.Is(err, errs.PreconditionFailed) {
			continue // an admin's edit won the race: apply ours to it
		}
		if err != nil {
			return User{}, err
		}
		return cur, s.audit.Record(ctx, AuditEvent{User: u.Username, Role: u.Role, Action: "user.preferences", Entity: ent,
			IP: m.IP, RequestID: m.RequestID, Outcome: OutcomeSuccess, Detail: map[string]string{"reveal_media": strconv.FormatBool(p.RevealMedia)}})
	}
	return User{}, errs.E(errs.Conflict, "your account is being changed by many requests at once; retry")
}
