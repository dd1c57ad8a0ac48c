package store_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
)

// commandCounts reads, per command name, how many commands the histogram
// observed and how many failed.
func commandCounts(t *testing.T, reg *prometheus.Registry) (observed, failed map[string]uint64) {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	observed, failed = map[string]uint64{}, map[string]uint64{}
	label := func(m *dto.Metric) string {
		for _, l := range m.GetLabel() {
			if l.GetName() == "command" {
				return l.GetValue()
			}
		}
		return ""
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "casefile_store_command_duration_seconds":
				observed[label(m)] = m.GetHistogram().GetSampleCount()
			case "casefile_store_command_failures_total":
				failed[label(m)] = uint64(m.GetCounter().GetValue())
			}
		}
	}
	return observed, failed
}

func TestWithMetricsTimesEveryCommand(t *testing.T) {
	ctx := context.Background()
	_, emb := startEmbedded(t, "cfmon")
	defer emb.Close()
	reg := prometheus.NewRegistry()
	db, err := store.Open(ctx, emb.URI(), "mondb", emb, store.WithMetrics(reg))
	require.NoError(t, err)
	defer db.Close(ctx)
	require.NoError(t, db.EnsureCollection(ctx, "items"))
	before, _ := commandCounts(t, reg)
	// What every start does: the create fails (the collection exists) and
	// that is no failure to count.
	require.NoError(t, db.EnsureCollection(ctx, "items"))

	type item struct {
		ID      string `bson:"_id"`
		Version int64  `bson:"version"`
	}
	require.NoError(t, db.Insert(ctx, "items", item{ID: "a", Version: 1}))
	require.NoError(t, db.Insert(ctx, "items", item{ID: "b", Version: 1}))
	var got item
	require.NoError(t, db.FindByID(ctx, "items", "a", &got))
	require.NoError(t, db.ReplaceVersioned(ctx, "items", "a", 1, item{ID: "a", Version: 2}))
	_, err = db.NextSeq(ctx, "n")
	require.NoError(t, err)

	// A duplicate _id is refused, yet the command succeeded: the server
	// answers ok: 1 with writeErrors.
	err = db.Insert(ctx, "items", item{ID: "a", Version: 1})
	require.True(t, errs.Is(err, errs.Conflict), "%v", err)
	// An unknown query operator is an error reply: a failed command.
	err = db.Collection("items").FindOne(ctx, bson.D{{Key: "version", Value: bson.D{{Key: "$nonsense", Value: 1}}}}).Err()
	require.Error(t, err)

	after, failed := commandCounts(t, reg)
	delta := func(cmd string) uint64 { return after[cmd] - before[cmd] }
	assert.Equal(t, uint64(3), delta("insert"), "two inserts and the duplicate")
	assert.Equal(t, uint64(3), delta("find"), "FindByID, the version read of ReplaceVersioned and the bad query")
	assert.Equal(t, uint64(1), delta("update"), "the replace")
	assert.Equal(t, uint64(1), delta("findAndModify"), "NextSeq")
	assert.Equal(t, uint64(1), delta("create"), "the second EnsureCollection")
	assert.Equal(t, map[string]uint64{"find": 1}, failed, "only the bad query failed, not the create of an existing collection")

	t.Run("a_second_handle_on_the_client_is_measured_too", func(t *testing.T) {
		sib := db.Sibling("mondb2")
		require.NoError(t, sib.Insert(ctx, "items", item{ID: "c", Version: 1}))
		again, _ := commandCounts(t, reg)
		assert.Equal(t, after["insert"]+1, again["insert"])
	})

	t.Run("without_a_registerer_nothing_is_recorded", func(t *testing.T) {
		plain, err := store.Open(ctx, emb.URI(), "mondb", emb, store.WithMetrics(nil))
		require.NoError(t, err)
		defer plain.Close(ctx)
		was, _ := commandCounts(t, reg)
		require.NoError(t, plain.Insert(ctx, "items", item{ID: "d", Version: 1}))
		now, _ := commandCounts(t, reg)
		assert.Equal(t, was, now)
	})
}
