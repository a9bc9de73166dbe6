package sqlitestore

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// TestCheckpointOffTheWriter writes three rounds of checkpointWrites
// sessions, one commit each, and waits after each round for the
// checkpoint it starts on the checkpointer's connection: each checkpoint
// succeeds, the writer's own automatic checkpoint stays at the fallback,
// and the log starts anew after each, so that it never holds more than
// about a round of pages (without the checkpointer it would hold all
// three rounds, the fallback being beyond them).
func TestCheckpointOffTheWriter(t *testing.T) {
	done := make(chan error, 16)
	afterCheckpoint = func(err error) { done <- err }
	t.Cleanup(func() { afterCheckpoint = nil })
	s := openTemp(t)
	ctx := t.Context()

	var auto int
	if err := s.db.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != fallbackCheckpointPages {
		t.Errorf("writer's wal_autocheckpoint = %d, want the fallback %d", auto, fallbackCheckpointPages)
	}
	var pageSize int64
	if err := s.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	var seq int
	var name, path string
	if err := s.db.QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &path); err != nil {
		t.Fatal(err)
	}
	wal := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	n := 0
	var first int64
	for round := range 3 {
		for range checkpointWrites {
			n++
			r := selfhosted.SessionRecord{
				ID: fmt.Sprintf("s%06d", n), TokenHash: bytes.Repeat([]byte{byte(n), byte(n >> 8)}, 16),
				UserID: "alice", Email: "alice@example.com", CreatedAt: day0, LastSeenAt: day0,
				ExpiresAt: day0.Add(time.Hour), IdleExpiresAt: day0.Add(time.Hour), AuthMethod: "passkey",
			}
			if err := s.CreateSession(ctx, r, day0); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: checkpoint: %v", round, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: no checkpoint after %d writes", round, n)
		}
		if round == 0 {
			first = wal()
		}
	}
	// The log file keeps its largest size; a log that had not started anew
	// would have grown by the later rounds' pages too.
	if size := wal(); size > first+first/2 {
		t.Errorf("log grew to %d bytes after three rounds, %d after the first: not started anew", size, first)
	}
	if frames := first / (pageSize + 24); frames < checkpointWrites {
		t.Errorf("a round wrote %d log pages, fewer than its %d commits: the test measures nothing", frames, checkpointWrites)
	}
	if rows(t, s, "sessions") != n {
		t.Errorf("sessions = %d, want %d", rows(t, s, "sessions"), n)
	}
}
