package passkeys_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
)

// accountExport is the body of GET account.
type accountExport struct {
	User     passkeys.User          `json:"user"`
	Passkeys []passkeys.Passkey     `json:"passkeys"`
	Sessions []passkeys.SessionInfo `json:"sessions"`
}

func (r *httpRig) account(token string) accountExport {
	r.t.Helper()
	p := r.do(http.MethodGet, "/auth/account", token, "")
	if p.Status != http.StatusOK {
		r.t.Fatalf("GET account: %d %s", p.Status, p.Body)
	}
	var out accountExport
	if err := json.Unmarshal(p.Body, &out); err != nil || out.Passkeys == nil || out.Sessions == nil {
		r.t.Fatalf("GET account body %s: %v", p.Body, err)
	}
	return out
}

// storedUser reports whether the engine's store holds the user, and
// their passkeys.
func (r *httpRig) storedUser(id string) (bool, int) {
	r.t.Helper()
	if _, err := r.store.UserByID(r.t.Context(), id); errors.Is(err, selfhosted.ErrNotFound) {
		return false, 0
	} else if err != nil {
		r.t.Fatal(err)
	}
	creds, err := r.store.CredentialsByUser(r.t.Context(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return true, len(creds)
}

// GET account exports the user, their passkeys and their sessions, the
// request's own marked current, and nothing of anyone else.
func TestAccountExport(t *testing.T) {
	r := newHTTPRig(t, rigOptions{})
	ctx := t.Context()
	ann := r.signIn("ann@example.com", uaLaptop)
	pk, err := r.client(uaLaptop).AppendPasskey(ctx, ann.Token)
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Second)
	phone := r.signIn("ann@example.com", uaPhone)
	bob := r.signIn("bob@example.com", uaPhone)
	if _, err := r.client(uaPhone).AppendPasskey(ctx, bob.Token); err != nil {
		t.Fatal(err)
	}

	got := r.account(phone.Token)
	if got.User != ann.User {
		t.Errorf("user %+v, want %+v", got.User, ann.User)
	}
	if len(got.Passkeys) != 1 || got.Passkeys[0].ID != pk.ID {
		t.Errorf("passkeys %+v, want ann's one (%s)", got.Passkeys, pk.ID)
	}
	if len(got.Sessions) != 2 || got.Sessions[0].UserAgent != uaPhone || !got.Sessions[0].Current || got.Sessions[1].Current {
		t.Errorf("sessions %+v, want ann's two with the phone's current", got.Sessions)
	}
	wantProblem(t, "PUT account", r.do(http.MethodPut, "/auth/account", phone.Token, "{}"), http.StatusMethodNotAllowed, "method_not_allowed")
	wantProblem(t, "GET account without a token", r.do(http.MethodGet, "/auth/account", "", ""), http.StatusUnauthorized, "unauthorized")
}

// DELETE account needs a recent sign-in: a stale one is 403 and changes
// nothing. A fresh one deletes the user, their passkeys and every session
// of theirs, and the address signs up anew as another account.
func TestDeleteAccount(t *testing.T) {
	r := newHTTPRig(t, rigOptions{})
	ctx := t.Context()
	ann := r.signIn("ann@example.com", uaLaptop)
	if _, err := r.client(uaLaptop).AppendPasskey(ctx, ann.Token); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(passkeys.DefaultReauthenticationAge + time.Second)
	phone := r.signIn("ann@example.com", uaPhone)
	bob := r.signIn("bob@example.com", uaPhone)

	wantProblem(t, "stale DELETE account", r.do(http.MethodDelete, "/auth/account", ann.Token, ""), http.StatusForbidden, "reauthentication_required")
	if ok, n := r.storedUser(ann.User.ID); !ok || n != 1 || len(r.stored(ann.User.ID)) != 2 {
		t.Fatalf("after the refused deletion: user stored %v, %d passkeys, %d sessions; want all kept", ok, n, len(r.stored(ann.User.ID)))
	}
	wantStatus(t, "the stale token after the refusal", r.me(ann.Token), http.StatusOK)

	wantStatus(t, "fresh DELETE account", r.do(http.MethodDelete, "/auth/account", phone.Token, ""), http.StatusNoContent)
	if ok, n := r.storedUser(ann.User.ID); ok || n != 0 {
		t.Errorf("after the deletion: user stored %v with %d passkeys", ok, n)
	}
	if got := r.stored(ann.User.ID); len(got) != 0 {
		t.Errorf("after the deletion: sessions %+v", got)
	}
	for _, tok := range []string{ann.Token, phone.Token} {
		wantProblem(t, "/api/me of the deleted account", r.me(tok), http.StatusUnauthorized, "unauthorized")
		wantProblem(t, "DELETE account again", r.do(http.MethodDelete, "/auth/account", tok, ""), http.StatusUnauthorized, "unauthorized")
	}
	if start, err := r.client("").StartLogin(ctx, "ann@example.com"); err != nil || start.Allowed {
		t.Errorf("passkey login start for the deleted address = %+v, %v; want not allowed", start, err)
	}
	wantStatus(t, "bob's session", r.me(bob.Token), http.StatusOK)
	again := r.signIn("ann@example.com", uaLaptop)
	if again.User.ID == ann.User.ID || again.NewUser == nil || !*again.NewUser {
		t.Errorf("signing up the address again = %+v, want a new account", again)
	}
}

// revokeFails is the session system with a RevokeUserSessions that fails
// on the calls fail says.
type revokeFails struct {
	*selfhosted.Sessions
	mu    sync.Mutex
	calls int
	fail  func(call int) bool
}

func (f *revokeFails) RevokeUserSessions(ctx context.Context, userID string) error {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if f.fail(n) {
		return errors.New("session table locked")
	}
	return f.Sessions.RevokeUserSessions(ctx, userID)
}

// When the sessions cannot be ended, DELETE account fails and changes
// nothing: the account, its passkeys and its sessions stay, and a retry
// succeeds. No live session of a deleted account is ever left.
func TestDeleteAccountWhenRevokingFails(t *testing.T) {
	var rf *revokeFails
	r := newHTTPRig(t, rigOptions{verifier: func(s *selfhosted.Sessions) passkeys.SessionVerifier {
		rf = &revokeFails{Sessions: s, fail: func(n int) bool { return n == 1 }}
		return rf
	}})
	ann := r.signIn("ann@example.com", uaLaptop)
	if _, err := r.client(uaLaptop).AppendPasskey(t.Context(), ann.Token); err != nil {
		t.Fatal(err)
	}
	other := r.signIn("ann@example.com", uaPhone)

	wantProblem(t, "DELETE account, revoke failing", r.do(http.MethodDelete, "/auth/account", ann.Token, ""), http.StatusInternalServerError, "internal")
	if ok, n := r.storedUser(ann.User.ID); !ok || n != 1 {
		t.Errorf("after the failed deletion: user stored %v with %d passkeys, want kept", ok, n)
	}
	if got := len(r.stored(ann.User.ID)); got != 2 {
		t.Errorf("after the failed deletion: %d sessions, want 2", got)
	}
	if lines := r.logs.take(t); !slices.ContainsFunc(lines, func(l map[string]any) bool {
		return l["level"] == "ERROR" && l["path"] == "/auth/account" && strings.Contains(fmt.Sprint(l["cause"]), "session table locked")
	}) {
		t.Errorf("no ERROR line naming /auth/account and the cause: %v", lines)
	}

	wantStatus(t, "DELETE account, retried", r.do(http.MethodDelete, "/auth/account", ann.Token, ""), http.StatusNoContent)
	if ok, _ := r.storedUser(ann.User.ID); ok || len(r.stored(ann.User.ID)) != 0 {
		t.Errorf("after the retry: user stored %v, sessions %+v", ok, r.stored(ann.User.ID))
	}
	wantProblem(t, "the other session after the deletion", r.me(other.Token), http.StatusUnauthorized, "unauthorized")
}

// When only the second round of revoking fails (after the account is
// deleted), the answer is 204: the account is gone, so are the sessions
// the first round ended, and the failure is logged at ERROR.
func TestDeleteAccountWhenTheLastRevokeFails(t *testing.T) {
	r := newHTTPRig(t, rigOptions{verifier: func(s *selfhosted.Sessions) passkeys.SessionVerifier {
		return &revokeFails{Sessions: s, fail: func(n int) bool { return n == 2 }}
	}})
	ann := r.signIn("ann@example.com", uaLaptop)
	wantStatus(t, "DELETE account", r.do(http.MethodDelete, "/auth/account", ann.Token, ""), http.StatusNoContent)
	if ok, _ := r.storedUser(ann.User.ID); ok || len(r.stored(ann.User.ID)) != 0 {
		t.Errorf("after the deletion: user stored %v, sessions %+v", ok, r.stored(ann.User.ID))
	}
	if lines := r.logs.take(t); !slices.ContainsFunc(lines, func(l map[string]any) bool {
		return l["level"] == "ERROR" && l["path"] == "/auth/account" && strings.Contains(fmt.Sprint(l["cause"]), "session table locked")
	}) {
		t.Errorf("no ERROR line naming /auth/account and the cause: %v", lines)
	}
}

// emailChange posts to account/email.
func (r *httpRig) emailChange(token, email, otp string) reply {
	r.t.Helper()
	body := map[string]string{"email": email}
	if otp != "" {
		body["otp"] = otp
	}
	b, _ := json.Marshal(body)
	return r.do(http.MethodPost, "/auth/account/email", token, string(b))
}

// POST account/email moves the account to a new address proven by a
// code sent there. Every bad request changes nothing: a stale sign-in, a
// malformed address or code, a wrong code, an address that has an
// account (answered exactly as a free one, with no code sent). The
// change ends every session of the user and answers a new one, whose
// user, GET account, GET sessions and the host's guard all show the new
// address; passkeys now sign in under it, by button and by autofill.
func TestEmailChange(t *testing.T) {
	r := newHTTPRig(t, rigOptions{})
	ctx := t.Context()
	ann := r.signIn("ann@example.com", uaLaptop)
	if _, err := r.client(uaLaptop).AppendPasskey(ctx, ann.Token); err != nil {
		t.Fatal(err)
	}
	phone := r.signIn("ann@example.com", uaPhone)
	bob := r.signIn("bob@example.com", uaPhone)
	emailOf := func(id string) string {
		u, err := r.store.UserByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return u.Email
	}
	unchanged := func(what string) {
		t.Helper()
		if e := emailOf(ann.User.ID); e != "ann@example.com" {
			t.Errorf("%s: ann's email is %q", what, e)
		}
		if e := emailOf(bob.User.ID); e != "bob@example.com" {
			t.Errorf("%s: bob's email is %q", what, e)
		}
		if n := len(r.stored(ann.User.ID)); n != 2 {
			t.Errorf("%s: ann has %d sessions, want 2", what, n)
		}
	}

	r.clock.Advance(passkeys.DefaultReauthenticationAge + time.Second)
	wantProblem(t, "stale start", r.emailChange(ann.Token, "new@example.com", ""), http.StatusForbidden, "reauthentication_required")
	wantProblem(t, "stale finish", r.emailChange(ann.Token, "new@example.com", "123456"), http.StatusForbidden, "reauthentication_required")
	if got := r.mail.Codes("new@example.com"); len(got) != 0 {
		t.Errorf("a stale request sent codes %v", got)
	}
	unchanged("stale")
	ann = r.signIn("ann@example.com", uaLaptop) // fresh again; the laptop's old session stays listed
	if n := len(r.stored(ann.User.ID)); n != 3 {
		t.Fatalf("%d sessions, want 3", n)
	}
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"no email", `{}`, http.StatusBadRequest, "invalid_request"},
		{"malformed email", `{"email":"not an address"}`, http.StatusBadRequest, "invalid_request"},
		{"malformed code", `{"email":"new@example.com","otp":"12ab56"}`, http.StatusBadRequest, "invalid_request"},
		{"unknown member", `{"email":"new@example.com","extra":1}`, http.StatusBadRequest, "invalid_request"},
		{"trailing data", `{"email":"new@example.com"} {}`, http.StatusBadRequest, "invalid_request"},
		{"no code sent", `{"email":"new@example.com","otp":"123456"}`, http.StatusUnauthorized, "otp_invalid"},
	} {
		wantProblem(t, tc.name, r.do(http.MethodPost, "/auth/account/email", ann.Token, tc.body), tc.status, tc.code)
	}
	wantProblem(t, "GET account/email", r.do(http.MethodGet, "/auth/account/email", ann.Token, ""), http.StatusMethodNotAllowed, "method_not_allowed")
	wantProblem(t, "without a token", r.do(http.MethodPost, "/auth/account/email", "", `{"email":"new@example.com"}`), http.StatusUnauthorized, "unauthorized")

	// A taken address is answered byte for byte as a free one.
	bobCodes := len(r.mail.Codes("bob@example.com"))
	taken := r.emailChange(ann.Token, "Bob@Example.com", "")
	free := r.emailChange(ann.Token, "new@example.com", "")
	wantStatus(t, "start, taken address", taken, http.StatusOK)
	wantStatus(t, "start, free address", free, http.StatusOK)
	if string(taken.Body) != string(free.Body) || taken.Header.Get("Content-Type") != free.Header.Get("Content-Type") {
		t.Errorf("taken address answered %s, free one %s; want the same", taken.Body, free.Body)
	}
	if got := free.json(t); got["otpSent"] != true || got["expiresInSeconds"] != float64(600) { // the engine's default validity, 10 minutes
		t.Errorf("start answered %v", got)
	}
	if n := len(r.mail.Codes("bob@example.com")); n != bobCodes {
		t.Errorf("the taken address got %d codes, want none", n-bobCodes)
	}
	wantProblem(t, "finish, taken address", r.emailChange(ann.Token, "bob@example.com", "000000"), http.StatusUnauthorized, "otp_invalid")
	code, ok := r.mail.Last("new@example.com")
	if !ok {
		t.Fatal("no code was sent to the new address")
	}
	wrong := fmt.Sprintf("%06d", (int(code[5]-'0')+1)%10+int(code[0]-'0')*100000)
	if wrong == code {
		t.Fatal("wrong code is the code")
	}
	wantProblem(t, "finish, wrong code", r.emailChange(ann.Token, "new@example.com", wrong), http.StatusUnauthorized, "otp_invalid")
	wantProblem(t, "finish, the code with another address", r.emailChange(ann.Token, "other@example.com", code), http.StatusUnauthorized, "otp_invalid")
	if e := emailOf(ann.User.ID); e != "ann@example.com" || len(r.stored(ann.User.ID)) != 3 {
		t.Fatalf("after the refused finishes: email %q, %d sessions", e, len(r.stored(ann.User.ID)))
	}

	p := r.emailChange(ann.Token, "new@example.com", code)
	if !wantStatus(t, "finish", p, http.StatusOK) {
		t.FailNow()
	}
	var res struct {
		SessionToken string        `json:"sessionToken"`
		User         passkeys.User `json:"user"`
	}
	if err := json.Unmarshal(p.Body, &res); err != nil || res.SessionToken == "" {
		t.Fatalf("finish body %s: %v", p.Body, err)
	}
	want := passkeys.User{ID: ann.User.ID, Email: "new@example.com"}
	if res.User != want || emailOf(ann.User.ID) != want.Email {
		t.Errorf("after the change: answered %+v, stored %q; want %+v", res.User, emailOf(ann.User.ID), want)
	}
	if is := r.issuer.last(t); is.User != want || is.Auth.Method != passkeys.MethodOTP || is.Auth.NewUser || !is.Auth.At.Equal(r.clock.Now()) {
		t.Errorf("IssueSession of the change got %+v", is)
	}
	for _, tok := range []string{ann.Token, phone.Token} {
		wantProblem(t, "an old session after the change", r.me(tok), http.StatusUnauthorized, "unauthorized")
	}
	wantStatus(t, "bob's session", r.me(bob.Token), http.StatusOK)
	if got := r.me(res.SessionToken).json(t); got["email"] != want.Email || got["id"] != want.ID {
		t.Errorf("/api/me with the new session = %v, want %+v", got, want)
	}
	acc := r.account(res.SessionToken)
	if acc.User != want || len(acc.Passkeys) != 1 || len(acc.Sessions) != 1 || !acc.Sessions[0].Current {
		t.Errorf("GET account after the change = %+v", acc)
	}
	if start, err := r.client("").StartLogin(ctx, "ann@example.com"); err != nil || start.Allowed {
		t.Errorf("passkey login start for the old address = %+v, %v; want not allowed", start, err)
	}
	button, err := r.client("").LoginWithPasskey(ctx, "new@example.com")
	if err != nil || button.User != want {
		t.Errorf("passkey login with the new address = %+v, %v; want %+v", button.User, err, want)
	}
	autofill, err := r.client("").LoginWithAutofill(ctx)
	if err != nil || autofill.User != want {
		t.Errorf("autofill login = %+v, %v; want %+v", autofill.User, err, want)
	}
	if got := r.me(autofill.Token).json(t); got["email"] != want.Email {
		t.Errorf("/api/me after the autofill login = %v", got)
	}
}

// IssueSession learns, from its context, how the user signed in, whether
// the sign-in created the account, when, and from which client; the
// stored sessions carry it into GET sessions.
func TestLoginContext(t *testing.T) {
	r := newHTTPRig(t, rigOptions{})
	ctx := t.Context()
	c := r.client(uaLaptop)
	check := func(what string, s passkeystest.Session, method passkeys.Method, newUser bool) {
		t.Helper()
		is := r.issuer.last(t)
		want := passkeys.Authentication{Method: method, NewUser: newUser, At: r.clock.Now()}
		if !is.AuthOK || is.Auth != want || is.User != s.User {
			t.Errorf("%s: IssueSession saw %+v (found %v) for %+v; want %+v for %+v", what, is.Auth, is.AuthOK, is.User, want, s.User)
		}
		if is.Client.UserAgent != uaLaptop || is.Client.RemoteAddr != "127.0.0.1" {
			t.Errorf("%s: IssueSession saw client %+v", what, is.Client)
		}
		list := r.sessionList(s.Token)
		if cur := list[slices.IndexFunc(list, func(i passkeys.SessionInfo) bool { return i.Current })]; !cur.Authentication.At.Equal(want.At) ||
			cur.Authentication.Method != method || cur.Authentication.NewUser != newUser {
			t.Errorf("%s: the listed session says %+v, want %+v", what, cur.Authentication, want)
		}
		r.clock.Advance(time.Minute)
	}
	signUp, err := c.SignUpOrLogin(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	check("code sign-up", signUp, passkeys.MethodOTP, true)
	login, err := c.SignUpOrLogin(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	check("code login", login, passkeys.MethodOTP, false)
	if _, err := c.AppendPasskey(ctx, login.Token); err != nil {
		t.Fatal(err)
	}
	button, err := c.LoginWithPasskey(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	check("passkey button", button, passkeys.MethodPasskey, false)
	autofill, err := c.LoginWithAutofill(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("autofill", autofill, passkeys.MethodAutofill, false)
}

// DELETE passkeys/{id} needs a recent sign-in: a stale one is 403 and the
// passkey stays; a malformed id is 400, another user's passkey 404, both
// changing nothing; a fresh sign-in deletes it.
func TestDeletePasskeyNeedsRecentSignIn(t *testing.T) {
	r := newHTTPRig(t, rigOptions{})
	ctx := t.Context()
	ann := r.signIn("ann@example.com", uaLaptop)
	pk, err := r.client(uaLaptop).AppendPasskey(ctx, ann.Token)
	if err != nil {
		t.Fatal(err)
	}
	bob := r.signIn("bob@example.com", uaPhone)
	bobKey, err := r.client(uaPhone).AppendPasskey(ctx, bob.Token)
	if err != nil {
		t.Fatal(err)
	}
	kept := func(what string) {
		t.Helper()
		if _, n := r.storedUser(ann.User.ID); n != 1 {
			t.Errorf("%s: ann has %d passkeys, want 1", what, n)
		}
		if _, n := r.storedUser(bob.User.ID); n != 1 {
			t.Errorf("%s: bob has %d passkeys, want 1", what, n)
		}
	}
	wantProblem(t, "malformed id", r.do(http.MethodDelete, "/auth/passkeys/not*base64", ann.Token, ""), http.StatusBadRequest, "invalid_request")
	wantProblem(t, "another user's passkey", r.do(http.MethodDelete, "/auth/passkeys/"+bobKey.ID, ann.Token, ""), http.StatusNotFound, "not_found")
	wantProblem(t, "GET a passkey", r.do(http.MethodGet, "/auth/passkeys/"+pk.ID, ann.Token, ""), http.StatusMethodNotAllowed, "method_not_allowed")
	kept("bad requests")
	r.clock.Advance(passkeys.DefaultReauthenticationAge + time.Second)
	wantProblem(t, "stale", r.do(http.MethodDelete, "/auth/passkeys/"+pk.ID, ann.Token, ""), http.StatusForbidden, "reauthentication_required")
	kept("stale")
	fresh := r.signIn("ann@example.com", uaLaptop)
	wantStatus(t, "fresh", r.do(http.MethodDelete, "/auth/passkeys/"+pk.ID, fresh.Token, ""), http.StatusOK) // with the signals
	if _, n := r.storedUser(ann.User.ID); n != 0 {
		t.Errorf("ann has %d passkeys after the deletion", n)
	}
}

// revokerOnly is a session system that can revoke the presented session
// but not list or end a user's others.
type revokerOnly struct{ s *selfhosted.Sessions }

func (v revokerOnly) VerifySession(ctx context.Context, token string) (passkeys.User, error) {
	return v.s.VerifySession(ctx, token)
}

func (v revokerOnly) DescribeSession(ctx context.Context, token string) (passkeys.Session, error) {
	return v.s.DescribeSession(ctx, token)
}

func (v revokerOnly) RevokeSession(ctx context.Context, token string) error {
	return v.s.RevokeSession(ctx, token)
}

// With a session system that only revokes (a SessionRevoker, not a
// SessionManager), DELETE account ends the presented session, and the
// session-list routes are 404.
func TestDeleteAccountWithARevoker(t *testing.T) {
	r := newHTTPRig(t, rigOptions{verifier: func(s *selfhosted.Sessions) passkeys.SessionVerifier { return revokerOnly{s} }})
	ann := r.signIn("ann@example.com", uaLaptop)
	wantProblem(t, "GET sessions", r.do(http.MethodGet, "/auth/sessions", ann.Token, ""), http.StatusNotFound, "not_found")
	if acc := r.account(ann.Token); acc.User != ann.User || len(acc.Sessions) != 0 {
		t.Errorf("GET account = %+v, want ann and no sessions", acc)
	}
	wantStatus(t, "DELETE account", r.do(http.MethodDelete, "/auth/account", ann.Token, ""), http.StatusNoContent)
	if ok, _ := r.storedUser(ann.User.ID); ok {
		t.Error("the account is still stored")
	}
	wantProblem(t, "the presented token after the deletion", r.me(ann.Token), http.StatusUnauthorized, "unauthorized")
}
