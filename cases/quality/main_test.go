package quality

import (
	"testing"

	"casefile.dev/casefile/internal/storetest"
)

// TestMain starts one embedded store for the package; every test that needs
// a database gets its own with storetest.New.
func TestMain(m *testing.M) { storetest.Main(m) }
