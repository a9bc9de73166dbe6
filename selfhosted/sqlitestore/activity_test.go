package sqlitestore

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
)

// TestActivitySurvivesRestart writes the audit trail through the sink,
// closes the database, opens the file again and lists it.
func TestActivitySurvivesRestart(t *testing.T) {
	ctx, path := t.Context(), filepath.Join(t.TempDir(), "passkeys.db")
	now := time.Now().UTC().Truncate(time.Microsecond)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sink := selfhosted.NewActivitySink(s, nil)
	client := passkeys.Client{RemoteAddr: "192.0.2.1", UserAgent: "Firefox/140"}
	sink.HandleEvent(ctx, passkeys.Event{Kind: passkeys.EventLogin, Time: now, User: passkeys.User{ID: "alice"}, Method: passkeys.MethodPasskey, Client: client})
	sink.HandleEvent(ctx, passkeys.Event{Kind: passkeys.EventPasskeyAdded, Time: now.Add(time.Second), User: passkeys.User{ID: "alice"}, PasskeyName: "Firefox on Linux", Client: client})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.ActivityByUser(ctx, "alice", now.Add(time.Minute), 50)
	if err != nil {
		t.Fatal(err)
	}
	want := []selfhosted.ActivityRecord{
		{UserID: "alice", Kind: "passkey_added", At: now.Add(time.Second), Detail: "Firefox on Linux", IP: "192.0.2.1", UserAgent: "Firefox/140"},
		{UserID: "alice", Kind: "login", At: now, Method: "passkey", IP: "192.0.2.1", UserAgent: "Firefox/140"},
	}
	if len(got) != len(want) {
		t.Fatalf("after reopen: %d records %+v, want %+v", len(got), got, want)
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) {
			t.Errorf("record %d At = %v, want %v", i, got[i].At, want[i].At)
		}
		got[i].At = want[i].At
		if got[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestActivityBatchOneTransaction hands the sink a batch of 12 events of
// three users and checks that it is one write transaction: one commit,
// holding 12 inserts and one trim per user (and the purge that the
// store's first append runs), and that every record is listed.
func TestActivityBatchOneTransaction(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	var commits atomic.Int64
	withCommitHook(t, s, func() { commits.Add(1) })
	var (
		mu    sync.Mutex
		stmts = map[string]int{}
	)
	traceStatement = func(query string, _ []any) {
		mu.Lock()
		stmts[strings.Fields(query)[0]+" "+map[bool]string{true: "activity", false: "other"}[strings.Contains(query, "activity")]]++
		mu.Unlock()
	}
	t.Cleanup(func() { traceStatement = nil })
	var events []passkeys.Event
	for i := range 12 {
		events = append(events, passkeys.Event{Kind: passkeys.EventLogin, Time: now.Add(time.Duration(i) * time.Millisecond),
			User: passkeys.User{ID: fmt.Sprint("user-", i%3)}, Method: passkeys.MethodAutofill})
	}
	selfhosted.NewActivitySink(s, nil).HandleEvents(ctx, events)
	traceStatement = nil
	if c := commits.Load(); c != 1 {
		t.Errorf("%d commits for a batch of 12 events, want 1", c)
	}
	if got, want := fmt.Sprint(stmts), "map[DELETE activity:4 INSERT activity:12]"; got != want {
		t.Errorf("statements %s, want %s (a purge, 12 inserts, 3 trims)", got, want)
	}
	for u := range 3 {
		if l, err := s.ActivityByUser(ctx, fmt.Sprint("user-", u), now.Add(time.Second), 50); err != nil || len(l) != 4 {
			t.Errorf("user-%d: %d records, %v; want 4", u, len(l), err)
		}
	}
}
