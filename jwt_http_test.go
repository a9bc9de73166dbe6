package passkeys_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
)

// With the demo JWT, logout answers 204 but the token stays valid until
// it expires (the README says so); the session-list routes are 404 with
// a detail saying why; the account routes work, the recent-sign-in gate
// reads the token's auth_time, a deleted account's token is refused at
// once, and after an email change the guard shows the new address even
// for the old token.
func TestAccountRoutesWithDemoJWT(t *testing.T) {
	r := newHTTPRig(t, rigOptions{jwt: true})
	ann := r.signIn("ann@example.com", uaLaptop)

	wantStatus(t, "logout", r.do(http.MethodPost, "/auth/logout", ann.Token, "{}"), http.StatusNoContent)
	wantStatus(t, "/api/me after logout (a JWT cannot be revoked)", r.me(ann.Token), http.StatusOK)
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/auth/sessions"},
		{http.MethodDelete, "/auth/sessions/abc"},
	} {
		p := r.do(tc.method, tc.path, ann.Token, "")
		wantProblem(t, tc.method+" "+tc.path, p, http.StatusNotFound, "not_found")
		if !strings.Contains(string(p.Body), "does not list sessions") {
			t.Errorf("%s %s: body %s, want the detail that sessions are not listed", tc.method, tc.path, p.Body)
		}
	}
	if acc := r.account(ann.Token); acc.User != ann.User || len(acc.Sessions) != 0 {
		t.Errorf("GET account = %+v, want ann and no sessions", acc)
	}

	// The email change: the old token is still valid (it cannot be
	// revoked) but the guard reads the account, so it carries the new
	// address, like the new token.
	p := r.emailChange(ann.Token, "new@example.com", "")
	wantStatus(t, "email change start", p, http.StatusOK)
	code, ok := r.mail.Last("new@example.com")
	if !ok {
		t.Fatal("no code sent to the new address")
	}
	p = r.emailChange(ann.Token, "new@example.com", code)
	wantStatus(t, "email change finish", p, http.StatusOK)
	var res struct {
		SessionToken string        `json:"sessionToken"`
		User         passkeys.User `json:"user"`
	}
	if err := json.Unmarshal(p.Body, &res); err != nil || res.User.Email != "new@example.com" {
		t.Fatalf("finish body %s: %v", p.Body, err)
	}
	for _, tok := range []string{ann.Token, res.SessionToken} {
		if got := r.me(tok).json(t); got["email"] != "new@example.com" {
			t.Errorf("/api/me after the change = %v, want the new address", got)
		}
		if acc := r.account(tok); acc.User.Email != "new@example.com" {
			t.Errorf("GET account after the change = %+v", acc.User)
		}
	}

	r.clock.Advance(passkeys.DefaultReauthenticationAge + time.Second)
	wantProblem(t, "stale DELETE account", r.do(http.MethodDelete, "/auth/account", res.SessionToken, ""), http.StatusForbidden, "reauthentication_required")
	if ok, _ := r.storedUser(ann.User.ID); !ok {
		t.Fatal("the stale deletion deleted the account")
	}
	fresh := r.signIn("new@example.com", uaLaptop)
	wantStatus(t, "fresh DELETE account", r.do(http.MethodDelete, "/auth/account", fresh.Token, ""), http.StatusNoContent)
	if ok, _ := r.storedUser(ann.User.ID); ok {
		t.Error("the account is still stored")
	}
	for _, tok := range []string{ann.Token, res.SessionToken, fresh.Token} {
		wantProblem(t, "a token of the deleted account", r.me(tok), http.StatusUnauthorized, "unauthorized")
	}
}
