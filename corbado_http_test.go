package passkeys_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
)

// corbadoUserExists reports whether the emulator still has the user.
func (r *httpRig) corbadoUserExists(id string) bool {
	r.t.Helper()
	_, err := r.api.UserGet(r.t.Context(), id)
	return err == nil
}

// The account routes on the Corbado backend (emulator) with revocable
// sessions: GET account exports the Corbado passkeys; POST account/email
// answers a taken address as a free one and sends it nothing, and after
// the change every login, autofill included, returns the new address
// (not the username the passkey was made with); DELETE account is gated
// by a recent sign-in and then deletes the Corbado user and every session.
func TestAccountRoutesOnCorbado(t *testing.T) {
	r := newHTTPRig(t, rigOptions{corbado: true})
	ctx := t.Context()
	ann := r.signIn("ann@example.com", uaLaptop)
	pk, err := r.client(uaLaptop).AppendPasskey(ctx, ann.Token)
	if err != nil {
		t.Fatal(err)
	}
	bob := r.signIn("bob@example.com", uaPhone)

	acc := r.account(ann.Token)
	if acc.User != ann.User || len(acc.Passkeys) != 1 || acc.Passkeys[0].ID != pk.ID || len(acc.Sessions) != 1 || !acc.Sessions[0].Current {
		t.Errorf("GET account = %+v, want ann, her passkey %s and her session", acc, pk.ID)
	}

	bobCodes := len(r.mail.Codes("bob@example.com"))
	taken := r.emailChange(ann.Token, "bob@example.com", "")
	free := r.emailChange(ann.Token, "new@example.com", "")
	if !wantStatus(t, "start, taken", taken, http.StatusOK) || !wantStatus(t, "start, free", free, http.StatusOK) || string(taken.Body) != string(free.Body) {
		t.Errorf("taken address answered %s, free one %s; want the same", taken.Body, free.Body)
	}
	if n := len(r.mail.Codes("bob@example.com")); n != bobCodes {
		t.Errorf("the taken address got %d codes", n-bobCodes)
	}
	code, ok := r.mail.Last("new@example.com")
	if !ok {
		t.Fatal("no code sent to the new address")
	}
	p := r.emailChange(ann.Token, "new@example.com", code)
	if !wantStatus(t, "email change finish", p, http.StatusOK) {
		t.FailNow()
	}
	var res struct {
		SessionToken string        `json:"sessionToken"`
		User         passkeys.User `json:"user"`
	}
	want := passkeys.User{ID: ann.User.ID, Email: "new@example.com"}
	if err := json.Unmarshal(p.Body, &res); err != nil || res.User != want {
		t.Fatalf("finish body %s: %v", p.Body, err)
	}
	wantProblem(t, "the old session after the change", r.me(ann.Token), http.StatusUnauthorized, "unauthorized")
	if acc := r.account(res.SessionToken); acc.User != want || len(acc.Passkeys) != 1 {
		t.Errorf("GET account after the change = %+v", acc)
	}
	if got := r.me(res.SessionToken).json(t); got["email"] != want.Email {
		t.Errorf("/api/me after the change = %v", got)
	}
	if start, err := r.client("").StartLogin(ctx, "ann@example.com"); err != nil || start.Allowed {
		t.Errorf("passkey login start for the old address = %+v, %v; want not allowed", start, err)
	}
	if s, err := r.client("").LoginWithPasskey(ctx, "new@example.com"); err != nil || s.User != want {
		t.Errorf("button login after the change = %+v, %v; want %+v", s.User, err, want)
	}
	autofill, err := r.client("").LoginWithAutofill(ctx)
	if err != nil || autofill.User != want {
		t.Errorf("autofill login after the change = %+v, %v; want %+v", autofill.User, err, want)
	}

	r.clock.Advance(passkeys.DefaultReauthenticationAge + time.Second)
	wantProblem(t, "stale DELETE account", r.do(http.MethodDelete, "/auth/account", res.SessionToken, ""), http.StatusForbidden, "reauthentication_required")
	if !r.corbadoUserExists(ann.User.ID) || len(r.stored(ann.User.ID)) != 3 {
		t.Fatalf("after the refused deletion: user exists %v, %d sessions; want kept", r.corbadoUserExists(ann.User.ID), len(r.stored(ann.User.ID)))
	}
	fresh, err := r.client("").LoginWithAutofill(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "fresh DELETE account", r.do(http.MethodDelete, "/auth/account", fresh.Token, ""), http.StatusNoContent)
	if r.corbadoUserExists(ann.User.ID) || len(r.stored(ann.User.ID)) != 0 {
		t.Errorf("after the deletion: user exists %v, sessions %+v", r.corbadoUserExists(ann.User.ID), r.stored(ann.User.ID))
	}
	for _, tok := range []string{res.SessionToken, autofill.Token, fresh.Token} {
		wantProblem(t, "a session of the deleted account", r.me(tok), http.StatusUnauthorized, "unauthorized")
	}
	if start, err := r.client("").StartLogin(ctx, "new@example.com"); err != nil || start.Allowed {
		t.Errorf("passkey login start for the deleted account = %+v, %v; want not allowed", start, err)
	}
	wantStatus(t, "bob's session", r.me(bob.Token), http.StatusOK)
}
