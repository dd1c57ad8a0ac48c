package auth

import (
	"regexp"
	"time"
	"unicode/utf8"

	"casefile.dev/casefile/internal/errs"
)

// User is a person who signs in to Casefile.
type User struct {
	Username     string `bson:"_id" json:"username"`
	DisplayName  string `bson:"display_name" json:"display_name"`
	Role         Role   `bson:"role" json:"role"`
	Team         string `bson:"team,omitempty" json:"team,omitempty"`
	Vendor       string `bson:"vendor,omitempty" json:"vendor,omitempty"`
	Disabled     bool   `bson:"disabled" json:"disabled"`
	PasswordHash string `bson:"password_hash" json:"-"`
	// SessionsValidFrom: sessions started before it are void. Disabling a
	// user or resetting their password moves it to now, so re-enabling an
	// account does not bring its old tokens back.
	SessionsValidFrom time.Time `bson:"sessions_valid_from,omitempty" json:"-"`
	Version           int64     `bson:"version" json:"version"`
	CreatedAt         time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt         time.Time `bson:"updated_at" json:"updated_at"`

	// Preferences are the user's own settings (SetPreferences).
	Preferences Preferences `bson:"preferences" json:"preferences"`
}

var (
	usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,62}$`)
	groupPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

// Password length bounds. The upper one keeps hashing cost bounded.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// Validate checks the fields a client may set.
func (u *User) Validate() error {
	var f errs.Fields
	if !usernamePattern.MatchString(u.Username) {
		f.Add("username", "must be 2-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
	}
	if !utf8.ValidString(u.DisplayName) || utf8.RuneCountInString(u.DisplayName) > 120 {
		f.Add("display_name", "must be valid text of at most 120 characters")
	}
	if !u.Role.Valid() {
		f.Add("role", "must be one of admin, lead, investigator, vendor_agent, leadership")
	}
	if u.Team != "" && !groupPattern.MatchString(u.Team) {
		f.Add("team", "must be 1-63 characters of a-z, 0-9, '_' or '-'")
	}
	switch {
	case u.Vendor != "" && !groupPattern.MatchString(u.Vendor):
		f.Add("vendor", "must be 1-63 characters of a-z, 0-9, '_' or '-'")
	case u.Role == RoleVendorAgent && u.Vendor == "":
		f.Add("vendor", "is required for a vendor_agent")
	case u.Role != RoleVendorAgent && u.Role.Valid() && u.Vendor != "":
		f.Add("vendor", "is only for vendor_agent users")
	}
	return f.Err()
}

// ValidatePassword checks a new password against the policy.
func ValidatePassword(field, pw string) error {
	var f errs.Fields
	switch n := utf8.RuneCountInString(pw); {
	case !utf8.ValidString(pw):
		f.Add(field, "must be valid UTF-8")
	case n < MinPasswordLen:
		f.Add(field, "must be at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		f.Add(field, "must be at most %d bytes", MaxPasswordLen)
	}
	return f.Err()
}
