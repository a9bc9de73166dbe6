package selfhosted_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

func TestActivitySink(t *testing.T) {
	ctx := t.Context()
	store := memstore.New()
	if err := store.CreateUser(ctx, selfhosted.UserRecord{ID: "u1", Email: "a@example.com", Handle: make([]byte, 32), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	sink := selfhosted.NewActivitySink(store, nil)
	now := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.UTC)
	client := passkeys.Client{RemoteAddr: "192.0.2.9", UserAgent: "Chrome\u202e\x00/1\n" + string([]byte{0xff})}
	u := passkeys.User{ID: "u1", Email: "a@example.com"}
	for i, e := range []passkeys.Event{
		{Kind: passkeys.EventSignUp, User: u, Method: passkeys.MethodOTP},
		{Kind: passkeys.EventCodeSent, Email: "a@example.com"},                    // not a stored kind
		{Kind: passkeys.EventSessionCreated, User: u, Method: passkeys.MethodOTP}, // not a stored kind
		{Kind: passkeys.EventRequest, User: u},                                    // not a stored kind
		{Kind: passkeys.EventCodeFailed, Email: "a@example.com", Reason: "sign_in"},
		{Kind: passkeys.EventCodeFailed, Email: "nobody@example.com", Reason: "sign_in"}, // no account
		{Kind: passkeys.EventRateLimited, Reason: "ip"},                                  // no user
		{Kind: passkeys.EventPasskeyRemoved, User: u, PasskeyID: "AQID", PasskeyName: "Key\u200b 1"},
		{Kind: passkeys.EventEmailChanged, User: u, OldEmail: "old@example.com", Email: "a@example.com"},
	} {
		e.Time = now.Add(time.Duration(i) * time.Second)
		e.Client = client
		sink.HandleEvent(ctx, e)
	}
	got, err := store.ActivityByUser(ctx, "u1", now.Add(time.Hour), 50)
	if err != nil {
		t.Fatal(err)
	}
	at := func(i int) time.Time { return now.Add(time.Duration(i) * time.Second).Truncate(time.Microsecond) }
	// As in the sessions list: controls and format characters dropped,
	// an invalid byte shown as U+FFFD.
	ua := "Chrome/1\ufffd"
	want := []selfhosted.ActivityRecord{
		{UserID: "u1", Kind: "email_changed", At: at(8), IP: "192.0.2.9", UserAgent: ua},
		{UserID: "u1", Kind: "passkey_removed", At: at(7), Detail: "Key 1", IP: "192.0.2.9", UserAgent: ua},
		{UserID: "u1", Kind: "code_failed", At: at(4), Detail: "sign_in", IP: "192.0.2.9", UserAgent: ua},
		{UserID: "u1", Kind: "sign_up", At: at(0), Method: "otp", IP: "192.0.2.9", UserAgent: ua},
	}
	if len(got) != len(want) {
		t.Fatalf("stored %d records %+v, want %+v", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, who := range []string{"", "nobody@example.com"} {
		if l, _ := store.ActivityByUser(ctx, who, now.Add(time.Hour), 50); len(l) != 0 {
			t.Errorf("records stored for %q: %+v", who, l)
		}
	}
}

// account_deleted deletes the account's records, also when the store
// keeps no account of that ID (an account at Corbado), and leaves other
// users' records alone.
func TestActivitySinkAccountDeleted(t *testing.T) {
	ctx := t.Context()
	store := memstore.New()
	sink := selfhosted.NewActivitySink(struct{ selfhosted.ActivityStore }{store}, nil)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, id := range []string{"usr_corbado1", "usr_corbado2"} {
		sink.HandleEvent(ctx, passkeys.Event{Kind: passkeys.EventLogin, Time: now, User: passkeys.User{ID: id}, Method: passkeys.MethodOTP})
	}
	sink.HandleEvent(ctx, passkeys.Event{Kind: passkeys.EventAccountDeleted, Time: now, User: passkeys.User{ID: "usr_corbado1"}})
	if l, err := store.ActivityByUser(ctx, "usr_corbado1", now, 50); err != nil || len(l) != 0 {
		t.Errorf("records of the deleted account: %+v, %v; want none", l, err)
	}
	// A request of the account that ran beside the deletion (a passkey
	// login, a rename) queues its event after account_deleted: it is not
	// stored either, or it would outlive the account.
	for _, k := range []passkeys.EventKind{passkeys.EventLogin, passkeys.EventPasskeyRenamed, passkeys.EventSessionRevoked} {
		sink.HandleEvent(ctx, passkeys.Event{Kind: k, Time: now, User: passkeys.User{ID: "usr_corbado1"}, Method: passkeys.MethodPasskey})
	}
	if l, err := store.ActivityByUser(ctx, "usr_corbado1", now, 50); err != nil || len(l) != 0 {
		t.Errorf("records of the deleted account after its late events: %+v, %v; want none", l, err)
	}
	if l, err := store.ActivityByUser(ctx, "usr_corbado2", now, 50); err != nil || len(l) != 1 {
		t.Errorf("records of the other account: %+v, %v; want its login", l, err)
	}
}

// A host's own user ID names an engine account again after that account
// was deleted, once the host's user adds a passkey anew: the sink stores
// the events of the new account, and only drops those queued while no
// account has the ID.
func TestActivitySinkAccountDeletedAndBack(t *testing.T) {
	ctx := t.Context()
	store := memstore.New()
	sink := selfhosted.NewActivitySink(store, nil)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	u := passkeys.User{ID: "host-user-7", Email: "h@example.com"}
	rec := selfhosted.UserRecord{ID: u.ID, Email: u.Email, Handle: make([]byte, 32), CreatedAt: now}
	if err := store.CreateUser(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	sink.HandleEvent(ctx, passkeys.Event{Kind: passkeys.EventAccountDeleted, Time: now, User: u})
	sink.HandleEvent(ctx, passkeys.Event{Kind: passkeys.EventPasskeyRenamed, Time: now, User: u, PasskeyName: "late"})
	if l, err := store.ActivityByUser(ctx, u.ID, now, 50); err != nil || len(l) != 0 {
		t.Errorf("records while the ID has no account: %+v, %v; want none", l, err)
	}
	if err := store.CreateUser(ctx, rec); err != nil {
		t.Fatal(err)
	}
	sink.HandleEvent(ctx, passkeys.Event{Kind: passkeys.EventPasskeyAdded, Time: now.Add(time.Hour), User: u, PasskeyName: "new"})
	if l, err := store.ActivityByUser(ctx, u.ID, now.Add(time.Hour), 50); err != nil || len(l) != 1 || l[0].Detail != "new" {
		t.Errorf("records of the account made again: %+v, %v; want its passkey_added", l, err)
	}
}

// failingActivity fails every write while down is set.
type failingActivity struct {
	selfhosted.ActivityStore
	down bool
}

func (f *failingActivity) AppendActivity(ctx context.Context, r selfhosted.ActivityRecord, now time.Time) error {
	if f.down {
		return errors.New("store down")
	}
	return f.ActivityStore.AppendActivity(ctx, r, now)
}

// A run of failed appends is one ERROR line; the next append that works
// logs at WARN how many events were lost.
func TestActivitySinkLogsAnOutageOnce(t *testing.T) {
	ctx := t.Context()
	var logs bytes.Buffer
	store := &failingActivity{ActivityStore: memstore.New(), down: true}
	sink := selfhosted.NewActivitySink(store, slog.New(slog.NewTextHandler(&logs, nil)))
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	login := passkeys.Event{Kind: passkeys.EventLogin, Time: now, User: passkeys.User{ID: "u1"}, Method: passkeys.MethodOTP}
	for range 3 {
		sink.HandleEvent(ctx, login)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), `msg="passkeys: activity: append" kind=login err="store down"`) {
		t.Errorf("%d ERROR lines for three failed appends, want one:\n%s", n, logs.String())
	}
	store.down = false
	sink.HandleEvent(ctx, login)
	sink.HandleEvent(ctx, login)
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "events_lost=3") {
		t.Errorf("after the store came back: %d WARN lines, want one with events_lost=3:\n%s", n, logs.String())
	}
	if l, _ := store.ActivityByUser(ctx, "u1", now, 50); len(l) != 2 {
		t.Errorf("%d records stored, want the two appended after the outage", len(l))
	}
	store.down = true
	sink.HandleEvent(ctx, login)
	if n := strings.Count(logs.String(), "level=ERROR"); n != 2 {
		t.Errorf("a new outage: %d ERROR lines in all, want two:\n%s", n, logs.String())
	}
}
