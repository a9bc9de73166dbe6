package e2e

import (
	"testing"

	"github.com/passkeyready/passkeys"
)

// SharedSetup returns two targets that share their storage, as two
// instances of an application on one database do: each with its own
// backend and session system (its own pool, its own caches), on env's
// clock and mailbox, for RPID and Origin. Anything else the instances
// share in production (the OTP key) they share here too.
type SharedSetup func(t *testing.T, env *Env) (a, b Target)

// RunShared runs the tests of two instances on one storage: a logout, a
// revoked session, a deleted account and a changed email on one instance
// are honoured by the other from its next request on, with no clock moved;
// when both targets have an audit trail (Target.Activity), the activity
// recorded on one is listed on the other.
func RunShared(t *testing.T, setup SharedSetup) {
	tests := []struct {
		name string
		fn   func(*testing.T, *server, *server)
		// trail: the test needs Target.Activity and is skipped without.
		trail bool
	}{
		{"LogoutHonouredByTheOther", testSharedLogout, false},
		{"RevokedSessionRefusedByTheOther", testSharedRevoke, false},
		{"DeletedAccountRefusedByTheOther", testSharedDeleteAccount, false},
		{"EmailChangeSeenByTheOther", testSharedEmailChange, false},
		{"ActivitySeenByTheOther", testSharedActivity, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := &Env{Clock: NewClock(), Mailbox: NewMailbox()}
			ta, tb := setup(t, env)
			var tweakA, tweakB func(*passkeys.Options)
			if tc.trail {
				if ta.Activity == nil || tb.Activity == nil {
					t.Skip("the targets keep no audit trail (Target.Activity)")
				}
				tweakA, tweakB = withActivity(ta.Activity), withActivity(tb.Activity)
			}
			tc.fn(t, startServer(t, env, ta, true, tweakA), startServer(t, env, tb, true, tweakB))
		})
	}
}

func testSharedLogout(t *testing.T, a, b *server) {
	u := a.signUp("shared-logout@example.com")
	other := a.signUp(u.email).token
	b.me("A's session on B", u.token, 200)
	if list := b.sessions(u.token); len(list) != 2 || current(t, list).ID == "" {
		t.Errorf("sessions on B: %+v", list)
	}
	check(t, "logout on A", a.c.Logout(t.Context(), u.token), 204, "")
	b.me("on B after the logout on A", u.token, 401)
	a.me("on A after its logout", u.token, 401)
	b.me("the user's other session on B", other, 200)
	check(t, "logout on B of the session logged out on A", b.c.Logout(t.Context(), u.token), 401, "unauthorized")
}

func testSharedRevoke(t *testing.T, a, b *server) {
	ctx := t.Context()
	u := a.signUp("shared-revoke@example.com")
	check(t, "add passkey on A", a.addPasskey(u), 200, "")
	// The second session signs in on B, by passkey.
	onB := b.client(u.auth)
	second, err := onB.LoginWithPasskey(ctx, u.email)
	check(t, "passkey login on B", err, 200, "")
	if second.User.ID != u.id {
		t.Fatalf("passkey login on B: %+v", second)
	}
	firstID := current(t, a.sessions(u.token)).ID
	secondID := current(t, b.sessions(second.Token)).ID

	check(t, "revoke on B", b.c.RevokeSession(ctx, second.Token, firstID), 204, "")
	a.me("the revoked session on A", u.token, 401)
	b.me("the revoked session on B", u.token, 401)
	a.me("the revoking session on A", second.Token, 200)
	if list := a.sessions(second.Token); len(list) != 1 || list[0].ID != secondID {
		t.Errorf("sessions on A after the revocation on B: %+v", list)
	}
	check(t, "revoke the same session on A", a.c.RevokeSession(ctx, second.Token, firstID), 404, "not_found")
}

func testSharedDeleteAccount(t *testing.T, a, b *server) {
	ctx := t.Context()
	u := a.signUp("shared-delete@example.com")
	check(t, "add passkey on A", a.addPasskey(u), 200, "")
	onB, err := b.client(u.auth).LoginWithPasskey(ctx, u.email)
	check(t, "passkey login on B", err, 200, "")
	other := b.signUp("shared-delete-other@example.com")

	check(t, "delete the account on A", a.c.DeleteAccount(ctx, u.token), 204, "")
	b.me("A's token on B", u.token, 401)
	b.me("the B session of the deleted account", onB.Token, 401)
	a.me("the B session of the deleted account on A", onB.Token, 401)
	b.me("another user on B", other.token, 200)
	if cer, err := b.c.StartLogin(ctx, u.email); err != nil || cer.Allowed {
		t.Errorf("login start on B for the deleted account: %+v, %v", cer, err)
	}
	if _, err := b.client(u.auth).LoginWithAutofill(ctx); status(err) != 401 {
		t.Errorf("autofill on B with the deleted passkey: %v, want 401", err)
	}
	again, err := b.c.SignUpOrLogin(ctx, u.email)
	check(t, "sign-up on B with the address", err, 200, "")
	if again.NewUser == nil || !*again.NewUser || again.User.ID == u.id {
		t.Errorf("sign-up on B after the deletion on A: %+v", again)
	}
}

func testSharedEmailChange(t *testing.T, a, b *server) {
	ctx := t.Context()
	u := a.signUp("shared-move@example.com")
	check(t, "add passkey on A", a.addPasskey(u), 200, "")
	onB, err := b.c.SignUpOrLogin(ctx, u.email)
	check(t, "code login on B", err, 200, "")

	moved, err := a.c.ChangeEmail(ctx, u.token, "shared-moved@example.com")
	check(t, "change the email on A", err, 200, "")
	b.me("the B session after the change on A", onB.Token, 401)
	r := b.do("GET", "/api/me", nil, moved.Token)
	expect(t, "the new session on B", r, 200, "")
	if r.str("user", "email") != "shared-moved@example.com" || r.str("user", "id") != u.id {
		t.Errorf("/api/me on B: %s", r.raw)
	}
	byPasskey, err := b.client(u.auth).LoginWithPasskey(ctx, "shared-moved@example.com")
	check(t, "passkey login on B with the new address", err, 200, "")
	if byPasskey.User != (moved.User) {
		t.Errorf("passkey login on B: %+v, want %+v", byPasskey.User, moved.User)
	}
	if cer, err := b.c.StartLogin(ctx, u.email); err != nil || cer.Allowed {
		t.Errorf("login start on B with the old address: %+v, %v", cer, err)
	}
}
