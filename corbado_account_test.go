package passkeys_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/corbadoapi"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
)

// accountRig is the Corbado backend on an emulator, driven directly.
type accountRig struct {
	t   *testing.T
	env *e2e.Env
	b   *passkeys.Corbado
	api *corbadoapi.Client
}

func newAccountRig(t *testing.T) *accountRig {
	t.Helper()
	env := &e2e.Env{Clock: e2e.NewClock(), Mailbox: e2e.NewMailbox()}
	emu, ts := corbadoEmulator(t, env)
	return &accountRig{
		t: t, env: env, b: corbadoOn(t, env, emu, ts.URL, nil),
		api: corbadoapi.New(corbadoapi.Config{BaseURL: ts.URL, ProjectID: emu.ProjectID(), APISecret: emu.APISecret()}),
	}
}

func (r *accountRig) code(email string) string {
	r.t.Helper()
	c, ok := r.env.Mailbox.Last(email)
	if !ok {
		r.t.Fatalf("no code was sent to %s", email)
	}
	return c
}

func (r *accountRig) sent(email string) int { return len(r.env.Mailbox.Codes(email)) }

func (r *accountRig) signUp(email string) passkeys.User {
	r.t.Helper()
	ctx := r.t.Context()
	if _, err := r.b.StartOTP(ctx, email, passkeys.Client{}); err != nil {
		r.t.Fatal(err)
	}
	u, _, err := r.b.FinishOTP(ctx, email, r.code(email), passkeys.Client{})
	if err != nil {
		r.t.Fatal(err)
	}
	r.env.Clock.Advance(time.Minute)
	return u
}

func (r *accountRig) addPasskey(u passkeys.User) *passkeystest.Authenticator {
	r.t.Helper()
	ctx := r.t.Context()
	auth := passkeystest.New(e2e.Origin)
	start, err := r.b.StartAppend(ctx, u, passkeys.Client{})
	if err != nil || !start.Allow {
		r.t.Fatalf("StartAppend: %+v, %v", start, err)
	}
	att, err := auth.Create(start.Options)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.b.FinishAppend(ctx, u, att, passkeys.Client{}); err != nil {
		r.t.Fatal(err)
	}
	return auth
}

func (r *accountRig) login(email string) (passkeys.LoginStart, error) {
	return r.b.StartLogin(r.t.Context(), email, passkeys.Client{})
}

// emails returns the values of u's email identifiers.
func (r *accountRig) emails(userID string) []string {
	r.t.Helper()
	l, err := r.api.IdentifierList(r.t.Context(), corbadoapi.ListParams{Filter: []string{"userID:eq:" + userID, "identifierType:eq:email"}})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, i := range l.Identifiers {
		out = append(out, i.Value+"/"+i.Status)
	}
	return out
}

// owner returns the user ID of email's identifier, or "".
func (r *accountRig) owner(email string) string {
	r.t.Helper()
	l, err := r.api.IdentifierList(r.t.Context(), corbadoapi.ListParams{Filter: []string{"identifierValue:eq:" + email}})
	if err != nil {
		r.t.Fatal(err)
	}
	if len(l.Identifiers) == 0 {
		return ""
	}
	return l.Identifiers[0].UserID
}

func expectCode(t *testing.T, what string, err error, want *passkeys.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %s", what, err, want.Code)
	}
}

// DeleteAccount deletes the Corbado user with their identifiers and
// passkeys; deleting it again is fine, and the address signs up anew.
func TestCorbadoDeleteAccount(t *testing.T) {
	r := newAccountRig(t)
	ctx := t.Context()
	const email = "leaving@example.com"
	u := r.signUp(email)
	auth := r.addPasskey(u)
	login, err := r.login(email)
	if err != nil || !login.Allow {
		t.Fatalf("StartLogin: %+v, %v", login, err)
	}
	mediation, err := r.b.StartMediation(ctx, passkeys.Client{})
	if err != nil {
		t.Fatal(err)
	}

	if err := r.b.DeleteAccount(ctx, u); err != nil {
		t.Fatalf("DeleteAccount: %v", err)
	}
	if err := r.b.DeleteAccount(ctx, u); err != nil {
		t.Errorf("DeleteAccount of a deleted account: %v, want nil", err)
	}
	if _, err := r.api.UserGet(ctx, u.ID); err == nil {
		t.Errorf("the Corbado user survived DeleteAccount")
	}
	if r.owner(email) != "" {
		t.Errorf("the email identifier survived DeleteAccount")
	}
	if start, err := r.login(email); err != nil || start.Allow {
		t.Errorf("login start of the deleted account: allow=%t, %v", start.Allow, err)
	}
	for _, tc := range []struct {
		name    string
		options []byte
		finish  func(context.Context, []byte) (passkeys.User, error)
	}{
		{"button", login.Options, func(ctx context.Context, b []byte) (passkeys.User, error) {
			return r.b.FinishLogin(ctx, b, passkeys.Client{})
		}},
		{"autofill", mediation.Options, func(ctx context.Context, b []byte) (passkeys.User, error) {
			return r.b.FinishMediation(ctx, b, passkeys.Client{})
		}},
	} {
		resp, err := auth.Get(tc.options)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tc.finish(ctx, resp)
		expectCode(t, tc.name+" login with the deleted account's passkey", err, passkeys.ErrUnauthorized)
	}
	_, err = r.b.StartEmailChange(ctx, u, "elsewhere@example.com", passkeys.Client{})
	expectCode(t, "email change of the deleted account", err, passkeys.ErrUnauthorized)
	again := r.signUp(email)
	if again.ID == u.ID {
		t.Errorf("sign-up after the delete returned the deleted account")
	}
	// The new account of the address adds a passkey and signs in with it.
	fresh := r.addPasskey(again)
	m, err := r.b.StartMediation(ctx, passkeys.Client{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := fresh.Get(m.Options)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.b.FinishMediation(ctx, resp, passkeys.Client{}); err != nil || got.ID != again.ID {
		t.Errorf("autofill login of the new account: %+v, %v", got, err)
	}
}

// An email change proves the new address with a code sent to it, adds it
// to the account and removes the old one.
func TestCorbadoEmailChange(t *testing.T) {
	r := newAccountRig(t)
	ctx := t.Context()
	u := r.signUp("old@example.com")
	auth := r.addPasskey(u)
	const moved = "new@example.com"

	res, err := r.b.StartEmailChange(ctx, u, moved, passkeys.Client{})
	if err != nil || res.ExpiresIn != 10*time.Minute {
		t.Fatalf("StartEmailChange: %+v, %v", res, err)
	}
	code := r.code(moved)
	// Until it is proven the address is not the account's.
	if start, err := r.login(moved); err != nil || start.Allow {
		t.Errorf("login start of the unproven address: allow=%t, %v", start.Allow, err)
	}
	if got := r.emails(u.ID); len(got) != 1 || got[0] != "old@example.com/verified" {
		t.Errorf("identifiers before the code: %v", got)
	}
	_, err = r.b.FinishEmailChange(ctx, u, moved, wrongCode(code), passkeys.Client{})
	expectCode(t, "wrong code", err, passkeys.ErrOTPInvalid)
	_, _, err = r.b.FinishOTP(ctx, moved, code, passkeys.Client{})
	expectCode(t, "the change code used to sign in", err, passkeys.ErrOTPInvalid)
	got, err := r.b.FinishEmailChange(ctx, u, moved, code, passkeys.Client{})
	if want := (passkeys.User{ID: u.ID, Email: moved}); err != nil || got != want {
		t.Fatalf("FinishEmailChange: %+v, %v; want %+v", got, err, want)
	}
	if got := r.emails(u.ID); len(got) != 1 || got[0] != moved+"/verified" {
		t.Errorf("identifiers after the change: %v, want only %s", got, moved)
	}
	_, err = r.b.FinishEmailChange(ctx, u, moved, code, passkeys.Client{})
	expectCode(t, "the used code again", err, passkeys.ErrOTPInvalid)
	if start, err := r.login("old@example.com"); err != nil || start.Allow {
		t.Errorf("login start of the old address: allow=%t, %v", start.Allow, err)
	}
	start, err := r.login(moved)
	if err != nil || !start.Allow {
		t.Fatalf("login start of the new address: %+v, %v", start, err)
	}
	resp, err := auth.Get(start.Options)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.b.FinishLogin(ctx, resp, passkeys.Client{}); err != nil || got != (passkeys.User{ID: u.ID, Email: moved}) {
		t.Errorf("login by the new address: %+v, %v", got, err)
	}
	if fresh := r.signUp("old@example.com"); fresh.ID == u.ID {
		t.Errorf("the old address still leads to the moved account")
	}
}

// A change to an address that has an account answers the same and sends
// and changes nothing; codes expire, run out and are checked as sign-up
// codes are.
func TestCorbadoEmailChangeRefusals(t *testing.T) {
	r := newAccountRig(t)
	ctx := t.Context()
	a := r.signUp("a@example.com")
	b := r.signUp("b@example.com")
	free, err := r.b.StartEmailChange(ctx, a, "free@example.com", passkeys.Client{})
	if err != nil {
		t.Fatal(err)
	}
	sentToB := r.sent(b.Email)
	for _, taken := range []string{b.Email, a.Email} {
		res, err := r.b.StartEmailChange(ctx, a, taken, passkeys.Client{})
		if err != nil || res != free {
			t.Errorf("change to taken %s: %+v, %v; want %+v as for a free address", taken, res, err, free)
		}
		_, err = r.b.FinishEmailChange(ctx, a, taken, "000000", passkeys.Client{})
		expectCode(t, "finish of a change to a taken address", err, passkeys.ErrOTPInvalid)
	}
	if n := r.sent(b.Email); n != sentToB {
		t.Errorf("a change to b's address sent %d codes to it", n-sentToB)
	}
	for _, u := range []passkeys.User{a, b} {
		if got := r.emails(u.ID); len(got) != 1 || got[0] != u.Email+"/verified" {
			t.Errorf("identifiers of %s after refused changes: %v", u.Email, got)
		}
	}

	// A resend within the cooldown sends nothing.
	if _, err := r.b.StartEmailChange(ctx, a, "free@example.com", passkeys.Client{}); err != nil {
		t.Fatal(err)
	}
	if n := r.sent("free@example.com"); n != 1 {
		t.Errorf("%d codes sent within the cooldown, want 1", n)
	}

	// The owner of the address signs up before the change is finished:
	// the address is theirs, and the change fails.
	if _, err := r.b.StartEmailChange(ctx, a, "late@example.com", passkeys.Client{}); err != nil {
		t.Fatal(err)
	}
	lateCode := r.code("late@example.com")
	owner := r.signUp("late@example.com")
	if owner.ID == a.ID {
		t.Fatalf("signing up the address of a change in flight signed in to the changing account")
	}
	_, err = r.b.FinishEmailChange(ctx, a, "late@example.com", lateCode, passkeys.Client{})
	expectCode(t, "finish after the owner signed up", err, passkeys.ErrOTPInvalid)
	if got := r.emails(a.ID); len(got) != 1 || got[0] != a.Email+"/verified" {
		t.Errorf("identifiers of a after the late finish: %v", got)
	}
	if r.owner("late@example.com") != owner.ID {
		t.Errorf("late@ no longer belongs to the account that signed it up")
	}

	// Expired.
	if _, err := r.b.StartEmailChange(ctx, b, "expiring@example.com", passkeys.Client{}); err != nil {
		t.Fatal(err)
	}
	r.env.Clock.Advance(10*time.Minute + time.Second)
	_, err = r.b.FinishEmailChange(ctx, b, "expiring@example.com", r.code("expiring@example.com"), passkeys.Client{})
	expectCode(t, "expired code", err, passkeys.ErrOTPInvalid)

	// Out of attempts.
	if _, err := r.b.StartEmailChange(ctx, b, "guessed@example.com", passkeys.Client{}); err != nil {
		t.Fatal(err)
	}
	code := r.code("guessed@example.com")
	for range 5 {
		_, err = r.b.FinishEmailChange(ctx, b, "guessed@example.com", wrongCode(code), passkeys.Client{})
		expectCode(t, "wrong code", err, passkeys.ErrOTPInvalid)
	}
	_, err = r.b.FinishEmailChange(ctx, b, "guessed@example.com", code, passkeys.Client{})
	expectCode(t, "the right code after five wrong ones", err, passkeys.ErrOTPInvalid)

	// An abandoned change holds nothing up: after the cooldown a new code
	// goes out through the same holder and works.
	r.env.Clock.Advance(time.Minute)
	if _, err := r.b.StartEmailChange(ctx, b, "guessed@example.com", passkeys.Client{}); err != nil {
		t.Fatal(err)
	}
	if got, err := r.b.FinishEmailChange(ctx, b, "guessed@example.com", r.code("guessed@example.com"), passkeys.Client{}); err != nil || got.Email != "guessed@example.com" {
		t.Errorf("change after an abandoned one: %+v, %v", got, err)
	}

	// A code in flight for an account deleted meanwhile moves nothing.
	if _, err := r.b.StartEmailChange(ctx, a, "gone@example.com", passkeys.Client{}); err != nil {
		t.Fatal(err)
	}
	if err := r.b.DeleteAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	_, err = r.b.FinishEmailChange(ctx, a, "gone@example.com", r.code("gone@example.com"), passkeys.Client{})
	expectCode(t, "finish for a deleted account", err, passkeys.ErrUnauthorized)
	if o := r.owner("gone@example.com"); o == a.ID {
		t.Errorf("the deleted account got the address")
	}
}
