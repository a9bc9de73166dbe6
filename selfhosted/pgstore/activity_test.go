package pgstore

import (
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
)

// TestActivitySharedAcrossInstances writes an event through the sink of
// one store and lists it through another store with its own pool on the
// same schema, as two instances of an application would.
func TestActivitySharedAcrossInstances(t *testing.T) {
	ctx, dsn := t.Context(), testDSN(t)
	schema := freshSchema(t, testPool(t))
	a, err := Open(ctx, dsn, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, dsn, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	now := time.Now().UTC().Truncate(time.Microsecond)
	selfhosted.NewActivitySink(a, nil).HandleEvent(ctx, passkeys.Event{
		Kind: passkeys.EventSessionRevoked, Time: now, User: passkeys.User{ID: "alice"}, Reason: "revoked",
		SessionID: "s1", Client: passkeys.Client{RemoteAddr: "2001:db8::2", UserAgent: "Safari\u202e/18"},
	})
	got, err := b.ActivityByUser(ctx, "alice", now, 50)
	if err != nil {
		t.Fatal(err)
	}
	want := selfhosted.ActivityRecord{UserID: "alice", Kind: "session_revoked", At: now, Detail: "revoked", IP: "2001:db8::2", UserAgent: "Safari/18"}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("listed via B = %+v, want [%+v]", got, want)
	}
}
