package sqlitestore

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest/keepertest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/storetest"
)

// openSingle opens a store with Options.SingleProcess on a new file.
func openSingle(t *testing.T) *Store {
	t.Helper()
	return openTempWith(t, Options{SingleProcess: true})
}

func TestSingleProcessConformance(t *testing.T) {
	storetest.RunHarness(t, storetest.Harness{
		NewStore: func(t *testing.T) selfhosted.Store { return openSingle(t) },
		Count: func(t *testing.T, st selfhosted.Store, kind storetest.Kind) int {
			s := st.(*Store)
			if kind == storetest.Ceremonies {
				if n := rows(t, s, "ceremonies"); n != 0 {
					t.Errorf("%d ceremonies in the database with SingleProcess", n)
				}
				return s.mem.count()
			}
			return rows(t, s, string(kind))
		},
		PurgeEvery: purgeEvery, PurgeLimit: purgeLimit,
	})
}

func TestSingleProcessKeeperConformance(t *testing.T) {
	keepertest.Run(t, func(t *testing.T) passkeys.CeremonyKeeper { return selfhosted.Keeper(openSingle(t)) })
}

// TestSingleProcessLocksFile checks that while a SingleProcess store is
// open no other connection can read the file, and that after Close one
// can, and finds the accounts but not the ceremonies in progress.
func TestSingleProcessLocksFile(t *testing.T) {
	ctx, path := t.Context(), filepath.Join(t.TempDir(), "passkeys.db")
	s, err := OpenWith(path, Options{SingleProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, alice()); err != nil {
		t.Fatal(err)
	}
	c := selfhosted.Ceremony{Challenge: "chal", Kind: selfhosted.CeremonyLogin, UserID: "alice", ExpiresAt: day0.Add(time.Minute)}
	if err := s.PutCeremony(ctx, c, day0); err != nil {
		t.Fatal(err)
	}

	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var n int
	err = other.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n)
	if !unavailable(err) {
		t.Errorf("another connection read the file of an open SingleProcess store: %d users, err %v; want SQLITE_BUSY", n, err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if u, err := s.UserByID(ctx, "alice"); err != nil || u.Email != alice().Email {
		t.Errorf("UserByID after a SingleProcess run = %+v, %v; want alice", u, err)
	}
	if _, err := s.TakeCeremony(ctx, "chal", day0); err != selfhosted.ErrNotFound {
		t.Errorf("TakeCeremony of a SingleProcess run's ceremony after reopening: %v, want ErrNotFound", err)
	}
}

// TestSingleProcessBackup: while a SingleProcess store is open and locks
// its file, Backup writes a copy that another store opens and finds the
// accounts in, and that has no ceremony; a second Backup to the same path
// is refused and leaves the copy as it was.
func TestSingleProcessBackup(t *testing.T) {
	ctx, dir := t.Context(), t.TempDir()
	s := openSingle(t)
	if err := s.CreateUser(ctx, alice()); err != nil {
		t.Fatal(err)
	}
	c := selfhosted.Ceremony{Challenge: "chal", Kind: selfhosted.CeremonyLogin, UserID: "alice", ExpiresAt: day0.Add(time.Minute)}
	if err := s.PutCeremony(ctx, c, day0); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(dir, "copy.db")
	if err := s.Backup(ctx, copyPath); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, copyPath); err == nil {
		t.Error("a second Backup to an existing file succeeded")
	}
	if err := s.Backup(ctx, ""); err == nil {
		t.Error("Backup to an empty path succeeded")
	}
	b, err := Open(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if u, err := b.UserByID(ctx, "alice"); err != nil || u.Email != alice().Email {
		t.Errorf("UserByID in the backup = %+v, %v; want alice", u, err)
	}
	if _, err := b.TakeCeremony(ctx, "chal", day0); err != selfhosted.ErrNotFound {
		t.Errorf("TakeCeremony in the backup: %v, want ErrNotFound", err)
	}
	// The store still serves after the backups.
	if _, err := s.TakeCeremony(ctx, "chal", day0); err != nil {
		t.Errorf("TakeCeremony after Backup: %v", err)
	}
}
