package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
)

// activityTests are the entries of Run for Options.Activity, GET
// account/activity.
var activityTests = []struct {
	name string
	fn   func(*testing.T, Setup)
}{
	{"AccountActivity", testAccountActivity},
}

// withActivity hands trail to Options.Events and Options.Activity.
func withActivity(trail ActivityTrail) func(*passkeys.Options) {
	return func(o *passkeys.Options) {
		o.Events = trail
		o.Activity = trail
	}
}

// activityLines lists the activity of token as "kind method detail"
// lines (empty fields left out), newest first, and checks what every
// record carries: a time no later than the one before it, the client's
// IP and user agent.
func (s *server) activityLines(what, token string) []string {
	s.t.Helper()
	list, err := s.c.Activity(s.t.Context(), token)
	if err != nil {
		s.t.Fatalf("%s: GET account/activity: %v", what, err)
	}
	var out []string
	for i, a := range list {
		if a.At.IsZero() || i > 0 && a.At.After(list[i-1].At) || a.IP == "" || a.UserAgent == "" {
			s.t.Errorf("%s: record %d %+v: want a time no later than the one before, an IP and a user agent", what, i, a)
		}
		line := string(a.Kind)
		for _, f := range []string{string(a.Method), a.Detail} {
			if f != "" {
				line += " " + f
			}
		}
		out = append(out, line)
	}
	return out
}

func wantLines(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n\t%s\nwant\n\t%s", what, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// testAccountActivity: after a sign-up, a passkey added, a passkey login
// and the passkey removed, GET account/activity lists them, newest first,
// at the times they happened; another user's sign-up is not among them,
// and that user sees only their own. The listing includes the events of
// the request answered just before it, with no flush by the test. Once
// the account is deleted, none of its records is left.
func testAccountActivity(t *testing.T, setup Setup) {
	env := &Env{Clock: NewClock(), Mailbox: NewMailbox()}
	target := setup(t, env)
	if target.Activity == nil {
		t.Skip("the target keeps no audit trail (Target.Activity)")
	}
	s := startServer(t, env, target, true, withActivity(target.Activity))
	ctx := t.Context()
	start := env.Clock.Now()

	a := s.signUp("activity@example.com")
	wantLines(t, "after the sign-up", s.activityLines("after the sign-up", a.token), "login otp", "sign_up otp")
	env.Clock.Advance(time.Second)
	pk, err := a.c.AppendPasskey(ctx, a.token)
	check(t, "add passkey", err, 200, "")
	wantLines(t, "after the passkey was added", s.activityLines("after the passkey was added", a.token),
		"passkey_added "+pk.Name, "login otp", "sign_up otp")
	env.Clock.Advance(time.Second)
	if _, err := a.c.LoginWithPasskey(ctx, a.email); err != nil {
		t.Fatal(err)
	}
	// A backend that renames passkeys records the new name.
	addedName := pk.Name
	var renamed []string
	steps := []int{3, 2, 1, 0, 0}
	if _, ok := s.backend.(passkeys.PasskeyRenamer); ok {
		env.Clock.Advance(time.Second)
		r := s.do(http.MethodPatch, "/auth/passkeys/"+pk.ID, map[string]string{"name": "Work laptop"}, a.token)
		expect(t, "rename passkey", r, 200, "")
		renamed = []string{"passkey_renamed Work laptop"}
		pk.Name = "Work laptop"
		steps = []int{4, 3, 2, 1, 0, 0}
	}
	env.Clock.Advance(time.Second)
	check(t, "delete passkey", a.c.DeletePasskey(ctx, a.token, pk.ID), 204, "")
	env.Clock.Advance(time.Second)
	b := s.signUp("activity-other@example.com")

	got := s.activityLines("after the passkey was removed", a.token)
	removed := "passkey_removed"
	if len(got) > 0 && got[0] != removed {
		removed += " " + pk.Name // a backend that knows the removed passkey's name
	}
	want := append(append([]string{removed}, renamed...), "login passkey", "passkey_added "+addedName, "login otp", "sign_up otp")
	wantLines(t, "the user's activity", got, want...)
	list, err := a.c.Activity(ctx, a.token)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == len(steps) {
		for i, step := range steps {
			if want := start.Add(time.Duration(step) * time.Second); !list[i].At.Equal(want) {
				t.Errorf("record %d (%s) at %v, want %v", i, list[i].Kind, list[i].At, want)
			}
		}
	}
	wantLines(t, "the other user's activity", s.activityLines("other user", b.token), "login otp", "sign_up otp")
	check(t, "without a session", activityStatus(s, ""), 401, "unauthorized")

	// Deleting the account deletes its records, and only its.
	check(t, "delete account", a.c.DeleteAccount(ctx, a.token), 204, "")
	flush(t, s)
	if left, err := target.Activity.ListActivity(ctx, a.id, env.Clock.Now(), 50); err != nil || len(left) != 0 {
		t.Errorf("records of the deleted account: %+v, %v; want none", left, err)
	}
	wantLines(t, "the other user's activity after the deletion", s.activityLines("other user", b.token), "login otp", "sign_up otp")
}

// activityStatus is the outcome of GET account/activity with token.
func activityStatus(s *server, token string) error {
	_, err := s.c.Activity(s.t.Context(), token)
	return err
}

// testSharedActivity: what a user did on A is listed on B, and the other
// way round, from one trail in the shared storage; another user's
// activity does not show on either. Each instance waits only for its own
// queue, so the test flushes the other's before it lists.
func testSharedActivity(t *testing.T, a, b *server) {
	ctx := t.Context()
	u := a.signUp("shared-activity@example.com")
	a.env.Clock.Advance(time.Second)
	pk, err := u.c.AppendPasskey(ctx, u.token)
	check(t, "add passkey on A", err, 200, "")
	a.env.Clock.Advance(time.Second)
	onB, err := b.client(u.auth).LoginWithPasskey(ctx, u.email)
	check(t, "passkey login on B", err, 200, "")
	other := b.signUp("shared-activity-other@example.com")
	flush(t, a, b)
	want := []string{"login passkey", "passkey_added " + pk.Name, "login otp", "sign_up otp"}
	wantLines(t, "listed on A", a.activityLines("on A", u.token), want...)
	wantLines(t, "listed on B", b.activityLines("on B", onB.Token), want...)
	wantLines(t, "the other user on A", a.activityLines("other on A", other.token), "login otp", "sign_up otp")
}

// flush waits for the queued events of each server.
func flush(t *testing.T, servers ...*server) {
	t.Helper()
	for i, s := range servers {
		if err := s.handler.FlushEvents(t.Context()); err != nil {
			t.Fatal(fmt.Errorf("server %d: FlushEvents: %w", i, err))
		}
	}
}
