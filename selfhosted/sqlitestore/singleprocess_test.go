package sqlitestore

import (
	"database/sql"
	"fmt"
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

// TestSingleProcessTakenCeremoniesLeaveNothing: with SingleProcess, a
// ceremony taken, or replaced after it expired, leaves nothing behind in
// memory, so what a busy server holds is its ceremonies in progress and
// not every ceremony of the last minutes.
func TestSingleProcessTakenCeremoniesLeaveNothing(t *testing.T) {
	ctx, s := t.Context(), openSingle(t)
	held := func() (int, int) {
		s.mem.mu.Lock()
		defer s.mem.mu.Unlock()
		return len(s.mem.byKey), len(s.mem.expiry)
	}
	for i := range 1000 {
		c := selfhosted.Ceremony{Challenge: fmt.Sprintf("chal-%d", i), Kind: selfhosted.CeremonyLogin, ExpiresAt: day0.Add(5 * time.Minute)}
		if err := s.PutCeremony(ctx, c, day0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TakeCeremony(ctx, c.Challenge, day0); err != nil {
			t.Fatal(err)
		}
	}
	if n, h := held(); n != 0 || h != 0 {
		t.Errorf("after 1,000 ceremonies put and taken: %d held, %d in the expiry heap; want 0 and 0", n, h)
	}

	c := selfhosted.Ceremony{Challenge: "again", Kind: selfhosted.CeremonyLogin, ExpiresAt: day0.Add(time.Minute)}
	for i := range 3 {
		now := day0.Add(time.Duration(i) * time.Hour)
		c.ExpiresAt = now.Add(time.Minute)
		if err := s.PutCeremony(ctx, c, now); err != nil {
			t.Fatalf("put %d of a challenge whose last ceremony expired: %v", i, err)
		}
	}
	if n, h := held(); n != 1 || h != 1 {
		t.Errorf("after a challenge put three times, each after the last expired: %d held, %d in the expiry heap; want 1 and 1", n, h)
	}
	if _, err := s.TakeCeremony(ctx, "again", day0.Add(2*time.Hour)); err != nil {
		t.Errorf("TakeCeremony of the latest: %v", err)
	}
}
