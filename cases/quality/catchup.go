package quality

import (
	"context"

	"casefile.dev/casefile/internal/errs"
)

// catchUpOverlap is how far behind its checkpoint CatchUp starts reading:
// a write that drew its seq before the last catch-up but committed after
// it is found again. Recording is idempotent, so reading twice is harmless.
const catchUpOverlap = 1000

// catchUpBatch is how many cases one read of CatchUp takes.
const catchUpBatch = 500

// checkpointID names the state document holding the case seq CatchUp has
// replayed up to.
const checkpointID = "decisions"

// CatchUp records every decision (and reversal) that a failed OnDecision
// hook left out.
// It reads the cases written since its checkpoint (kept in the store, so it
// survives restarts), derives their decisions and records those QA does
// not know yet, then moves the checkpoint. The first run on a store starts
// at the present: decisions made before QA existed are not sampled. It
// returns how many decisions it recorded; the binary runs it at start-up.
func (s *Service) CatchUp(ctx context.Context) (int, error) {
	cp, ok, err := s.store.checkpoint(ctx, checkpointID)
	if err != nil {
		return 0, err
	}
	if !ok {
		head, err := s.store.db.CurrentSeq(ctx, "feed")
		if err != nil {
			return 0, err
		}
		return 0, s.store.setCheckpoint(ctx, checkpointID, head)
	}
	recorded := 0
	after := max(0, cp-catchUpOverlap)
	for {
		ds, last, err := s.cases.DecisionsSince(ctx, after, catchUpBatch)
		if err != nil {
			return recorded, err
		}
		for _, d := range ds {
			it, err := s.store.Item(ctx, d.ID)
			switch {
			case err == nil && (d.ReversedAt == nil || it.ReversedAt != nil):
				continue // known, with nothing new
			case err != nil && !errs.Is(err, errs.NotFound):
				return recorded, err
			}
			// New, or known but not its reversal: Record handles both.
			if err := s.Record(ctx, d); err != nil {
				return recorded, err
			}
			s.log.Info("recorded a decision missed at the time", "decision", d.ID)
			recorded++
		}
		if last == after {
			return recorded, nil
		}
		if last > cp {
			if err := s.store.setCheckpoint(ctx, checkpointID, last); err != nil {
				return recorded, err
			}
			cp = last
		}
		after = last
	}
}
