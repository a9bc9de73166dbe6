package selfhosted_test

import (
	"path/filepath"
	"testing"

	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
	"github.com/passkeyready/passkeys/selfhosted/sqlitestore"
)

// testStore is a store the engine's tests run on: open returns a fresh,
// empty one, closed when the test ends.
type testStore struct {
	name string
	open func(t *testing.T) selfhosted.Store
}

// testStores are the stores that need nothing outside the process:
// memory and SQLite. Tests that also run on PostgreSQL add
// openPostgresForTest, which skips without PASSKEYS_TEST_POSTGRES_DSN.
var testStores = []testStore{
	{"memstore", openMemoryForTest},
	{"sqlite", openSQLiteForTest},
}

func openMemoryForTest(*testing.T) selfhosted.Store { return memstore.New() }

// openSQLiteForTest opens a SQLite store in a file of t's own.
func openSQLiteForTest(t *testing.T) selfhosted.Store {
	s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "passkeys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
