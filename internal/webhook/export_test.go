package webhook

import "context"

// WokenTail runs the pass a write wakes the dispatcher for.
func (s *Service) WokenTail(ctx context.Context) (int, error) { return s.tail(ctx, true) }
