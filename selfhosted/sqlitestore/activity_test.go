package sqlitestore

import (
	"path/filepath"
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
