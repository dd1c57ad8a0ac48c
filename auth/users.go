package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"casefile.dev/casefile/internal/errs"
)

// System is the actor for work done by the operator at the command line
// (first-start bootstrap, `casefile user add`), not through a session.
var System = User{Username: "system", Role: RoleAdmin}

// NewUser is the input to CreateUser.
type NewUser struct {
	Username    string
	DisplayName string
	Role        Role
	Team        string
	Vendor      string
	Password    string
}

// UserPatch changes a user; nil fields stay as they are.
type UserPatch struct {
	DisplayName *string
	Role        *Role
	Team        *string
	Vendor      *string
	Disabled    *bool
	Password    *string
}

func (s *Service) deny(ctx context.Context, by *User, action string, e Entity, m Meta) error {
	if err := s.audit.Record(ctx, AuditEvent{User: by.Username, Role: by.Role, Action: action, Entity: e, IP: m.IP, RequestID: m.RequestID, Outcome: OutcomeDenied}); err != nil {
		return err
	}
	return errs.E(errs.Forbidden, "you may not %s", action)
}

// CreateUser adds a user. Only admins may.
func (s *Service) CreateUser(ctx context.Context, by *User, in NewUser, m Meta) (User, error) {
	if !Can(by, ManageUsers, Resource{}) {
		return User{}, s.deny(ctx, by, "user.create", Entity{Type: "user", ID: in.Username}, m)
	}
	now := s.now().UTC().Truncate(time.Millisecond) // what MongoDB stores
	u := User{Username: in.Username, DisplayName: in.DisplayName, Role: in.Role, Team: in.Team, Vendor: in.Vendor, Version: 1, CreatedAt: now, UpdatedAt: now}
	if u.DisplayName == "" {
		u.DisplayName = u.Username
	}
	verr := u.Validate()
	perr := ValidatePassword("password", in.Password)
	if verr != nil || perr != nil {
		return User{}, joinFields(verr, perr)
	}
	hash, err := hashPassword(in.Password, s.hash)
	if err != nil {
		return User{}, err
	}
	u.PasswordHash = hash
	if err := s.db.Insert(ctx, usersCollection, u); err != nil {
		if errs.Is(err, errs.Conflict) {
			return User{}, &errs.Error{Code: errs.Conflict, Message: "a user with this username already exists", Fields: []errs.FieldError{{Field: "username", Message: "is taken"}}}
		}
		return User{}, err
	}
	return u, s.audit.Record(ctx, AuditEvent{User: by.Username, Role: by.Role, Action: "user.create", Entity: Entity{Type: "user", ID: u.Username},
		IP: m.IP, RequestID: m.RequestID, Outcome: OutcomeSuccess, Detail: map[string]string{"role": string(u.Role), "team": u.Team, "vendor": u.Vendor}})
}

// GetUser reads one user. Only admins may read other users.
func (s *Service) GetUser(ctx context.Context, by *User, username string, m Meta) (User, error) {
	if by.Username != username && !Can(by, ManageUsers, Resource{}) {
		return User{}, s.deny(ctx, by, "user.read", Entity{Type: "user", ID: username}, m)
	}
	var u User
	err := s.db.FindByID(ctx, usersCollection, username, &u)
	return u, err
}

// ListUsers lists users by username. Admins only.
func (s *Service) ListUsers(ctx context.Context, by *User, limit int, after string, m Meta) ([]User, string, int64, error) {
	if !Can(by, ManageUsers, Resource{}) {
		return nil, "", 0, s.deny(ctx, by, "user.list", Entity{Type: "user"}, m)
	}
	coll := s.db.Collection(usersCollection)
	total, err := coll.CountDocuments(ctx, bson.D{})
	if err != nil {
		return nil, "", 0, err
	}
	filter := bson.D{}
	if after != "" {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}
	}
	cur, err := coll.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)+1))
	if err != nil {
		return nil, "", 0, err
	}
	users := []User{}
	if err := cur.All(ctx, &users); err != nil {
		return nil, "", 0, err
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = users[len(users)-1].Username
	}
	return users, next, total, nil
}

// UpdateUser applies p to the user if it is still at version.
func (s *Service) UpdateUser(ctx context.Context, by *User, username string, version int64, p UserPatch, m Meta) (User, error) {
	ent := Entity{Type: "user", ID: username}
	if !Can(by, ManageUsers, Resource{}) {
		return User{}, s.deny(ctx, by, "user.update", ent, m)
	}
	var u User
	if err := s.db.FindByID(ctx, usersCollection, username, &u); err != nil {
		return User{}, err
	}
	if u.Version != version {
		return User{}, errs.E(errs.PreconditionFailed, "the user was changed by someone else (now at version %d); reload and retry", u.Version)
	}
	changed := map[string]string{}
	if p.DisplayName != nil {
		u.DisplayName = *p.DisplayName
		changed["display_name"] = u.DisplayName
	}
	if p.Role != nil {
		u.Role = *p.Role
		changed["role"] = string(u.Role)
	}
	if p.Team != nil {
		u.Team = *p.Team
		changed["team"] = u.Team
	}
	if p.Vendor != nil {
		u.Vendor = *p.Vendor
		changed["vendor"] = u.Vendor
	}
	if p.Disabled != nil {
		u.Disabled = *p.Disabled
		changed["disabled"] = fmt.Sprint(u.Disabled)
	}
	var f errs.Fields
	if username == by.Username && ((p.Disabled != nil && *p.Disabled) || (p.Role != nil && *p.Role != by.Role)) {
		f.Add("role", "you cannot disable yourself or change your own role; ask another admin")
	}
	verr := u.Validate()
	var perr error
	if p.Password != nil {
		perr = ValidatePassword("password", *p.Password)
		changed["password"] = "reset"
	}
	if err := joinFields(f.Err(), verr, perr); err != nil {
		return User{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond) // what MongoDB stores
	if p.Password != nil {
		hash, err := hashPassword(*p.Password, s.hash)
		if err != nil {
			return User{}, err
		}
		u.PasswordHash = hash
		u.SessionsValidFrom = now
	}
	if p.Disabled != nil && *p.Disabled {
		u.SessionsValidFrom = now
	}
	u.Version++
	u.UpdatedAt = now
	err := s.db.ReplaceVersioned(ctx, usersCollection, username, version, u)
	s.principals.invalidate()
	if err != nil {
		return User{}, err
	}
	return u, s.audit.Record(ctx, AuditEvent{User: by.Username, Role: by.Role, Action: "user.update", Entity: ent,
		IP: m.IP, RequestID: m.RequestID, Outcome: OutcomeSuccess, Detail: changed})
}

// EnsureAdmin creates the user "admin" when no enabled admin exists (a
// first start, or a store seeded only by `casefile user add` with other
// roles), so that someone can always manage users. It returns the password
// it set: the given one, or a generated one the caller must show once.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (pw string, created bool, err error) {
	n, err := s.db.Collection(usersCollection).CountDocuments(ctx, bson.D{{Key: "role", Value: RoleAdmin}, {Key: "disabled", Value: false}})
	if err != nil || n > 0 {
		return "", false, err
	}
	if password == "" {
		password = randomToken()[:24]
	}
	_, err = s.CreateUser(ctx, &System, NewUser{Username: "admin", DisplayName: "Administrator", Role: RoleAdmin, Password: password}, Meta{})
	if errs.Is(err, errs.Conflict) {
		return "", false, fmt.Errorf("no enabled admin exists and the username \"admin\" is taken: create one with `casefile user add --role admin`")
	}
	if err != nil {
		return "", false, fmt.Errorf("create admin: %w", err)
	}
	return password, true, nil
}

// setFields builds a $set update from key, value pairs.
func setFields(kv ...any) bson.D {
	set := bson.D{}
	for i := 0; i+1 < len(kv); i += 2 {
		set = append(set, bson.E{Key: kv[i].(string), Value: kv[i+1]})
	}
	return bson.D{{Key: "$set", Value: set}}
}

// joinFields merges validation errors into one; other errors win as they are.
func joinFields(list ...error) error {
	var all errs.Fields
	for _, err := range list {
		if err == nil {
			continue
		}
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != errs.Invalid {
			return err
		}
		all = append(all, e.Fields...)
	}
	return all.Err()
}
