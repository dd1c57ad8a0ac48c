package auth

import "context"

// Lookup reads a user by name for other services (e.g. to check that an
// assignee exists). It applies no permission check: callers must not hand
// the result to a client.
func (s *Service) Lookup(ctx context.Context, username string) (User, error) {
	var u User
	err := s.db.FindByID(ctx, usersCollection, username, &u)
	return u, err
}
