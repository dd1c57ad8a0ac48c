package webhook_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/casestest"
	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/webhook"
	"casefile.dev/casefile/rca"
)

// TestFirstStartBeginsAtThePresent: on a store whose audit log already
// holds events, the first webhook service starts its checkpoint at the
// last of them (found by lookups, for any length of log), so receivers
// are not sent history; a second start keeps the stored checkpoint.
func TestFirstStartBeginsAtThePresent(t *testing.T) {
	for _, users := range []int{0, 1, 2, 5, 13} {
		t.Run(fmt.Sprintf("%d_events", users), func(t *testing.T) {
			clock := fakeclock.New(start)
			b := casestest.New(t, clock.Now)
			for i := range users {
				casestest.User(t, b.Auth, fmt.Sprintf("user%d", i), auth.RoleInvestigator, "t1", "")
			}
			cfg := webhook.Config{DB: b.DB, Audit: b.Audit, Cases: cases.NewMongoStore(b.DB), Incidents: rca.NewMongoStore(b.DB), Taxonomy: b.Cases,
				Now: clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			first, err := webhook.New(t.Context(), cfg)
			require.NoError(t, err)
			cp, err := first.Checkpoint(t.Context())
			require.NoError(t, err)
			assert.EqualValues(t, users, cp, "one user.create event per user")

			clock.Advance(time.Minute)
			casestest.User(t, b.Auth, "later", auth.RoleInvestigator, "t1", "")
			again, err := webhook.New(t.Context(), cfg)
			require.NoError(t, err)
			cp, err = again.Checkpoint(t.Context())
			require.NoError(t, err)
			assert.EqualValues(t, users, cp, "a later start keeps the checkpoint, so it will read the event written while it was down")
		})
	}
}
