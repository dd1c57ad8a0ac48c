package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSQLiteQuery(t *testing.T) {
	assert.Equal(t, "_pragma=synchronous(normal)", embeddedConfig{}.sqliteQuery(), "the default flushes at checkpoints")
	var c embeddedConfig
	SyncEveryCommit()(&c)
	assert.Equal(t, "_pragma=synchronous(full)", c.sqliteQuery())
}
