package e2e

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
)

// The tests of logout, the sessions list and the account endpoints. They
// run on the Target's revocable Sessions unless they say otherwise.

// sessionTests are the entries of Run for these endpoints.
var sessionTests = []struct {
	name string
	fn   func(*testing.T, Setup)
}{
	{"Logout", testLogout},
	{"SessionsList", testSessionsList},
	{"RevokeSession", testRevokeSession},
	{"AccountExport", testAccountExport},
	{"DeleteAccount", testDeleteAccount},
	{"ChangeEmail", testChangeEmail},
	{"ChangeEmailToTakenAddress", testChangeEmailTaken},
	{"ChangeEmailRefusals", testChangeEmailRefusals},
	{"ConcurrentRevocations", testConcurrentRevocations},
	{"ConcurrentEmailChanges", testConcurrentEmailChanges},
	{"StoreSessionsExpire", testStoreSessionsExpire},
	{"ReauthenticationGate", testReauthGate},
	{"DemoJWTSessions", testDemoJWTSessions},
}

// clientAs returns a passkeystest client for the handler that sends
// userAgent as its User-Agent and answers ceremonies with auth.
func (s *server) clientAs(auth *passkeystest.Authenticator, userAgent string) *passkeystest.Client {
	return passkeystest.NewClient(s.url+"/auth", passkeystest.ClientOptions{
		HTTPClient: s.http, Authenticator: auth, Mailbox: s.env.Mailbox, Header: http.Header{"User-Agent": {userAgent}},
	})
}

// me asserts the status of GET /api/me and of GET /auth/passkeys, the
// host's route and the handler's, with token.
func (s *server) me(what, token string, status int) {
	s.t.Helper()
	code := ""
	if status == 401 {
		code = "unauthorized"
	}
	expect(s.t, what+": /api/me", s.do(http.MethodGet, "/api/me", nil, token), status, code)
	expect(s.t, what+": GET passkeys", s.do(http.MethodGet, "/auth/passkeys", nil, token), status, code)
}

// sessions lists the sessions of token's user.
func (s *server) sessions(token string) []passkeys.SessionInfo {
	s.t.Helper()
	list, err := s.c.Sessions(s.t.Context(), token)
	if err != nil {
		s.t.Fatalf("list sessions: %v", err)
	}
	return list
}

// current returns the session of list marked current, failing the test
// unless there is exactly one.
func current(t *testing.T, list []passkeys.SessionInfo) passkeys.SessionInfo {
	t.Helper()
	var cur []passkeys.SessionInfo
	for _, si := range list {
		if si.Current {
			cur = append(cur, si)
		}
	}
	if len(cur) != 1 {
		t.Fatalf("%d sessions marked current, want 1: %+v", len(cur), list)
	}
	return cur[0]
}

// ids returns the session IDs of list in order.
func ids(list []passkeys.SessionInfo) []string {
	out := make([]string, len(list))
	for i, si := range list {
		out[i] = si.ID
	}
	return out
}

// reauthenticate signs a in again by passkey, as a client answering 403
// reauthentication_required does, and returns the new token.
func (s *server) reauthenticate(a *account) string {
	s.t.Helper()
	sess, err := a.c.LoginWithPasskey(s.t.Context(), a.email)
	if err != nil {
		s.t.Fatalf("sign in again: %v", err)
	}
	return sess.Token
}

func testLogout(t *testing.T, setup Setup) {
	s := newStoreServer(t, setup, nil)
	ctx := t.Context()
	a := s.signUp("logout@example.com")
	other := s.signUp(a.email).token
	b := s.signUp("logout-other@example.com")
	s.me("before logout", a.token, 200)

	r := s.post("/auth/logout", map[string]any{}, a.token)
	expect(t, "logout", r, 204, "")
	if len(r.raw) != 0 {
		t.Errorf("204 with a body: %s", r.raw)
	}
	s.me("after logout", a.token, 401)
	// Every route that needs a session refuses the token, and does nothing.
	for _, c := range []struct{ method, path string }{
		{"POST", "/auth/passkey/append/start"},
		{"POST", "/auth/passkey/append/finish"},
		{"DELETE", "/auth/passkeys/x"},
		{"GET", "/auth/sessions"},
		{"DELETE", "/auth/sessions/x"},
		{"GET", "/auth/account"},
		{"DELETE", "/auth/account"},
		{"POST", "/auth/account/email"},
	} {
		var body any
		if c.method == "POST" {
			body = map[string]any{}
		}
		expect(t, c.method+" "+c.path+" after logout", s.do(c.method, c.path, body, a.token), 401, "unauthorized")
	}
	check(t, "logout again", s.c.Logout(ctx, a.token), 401, "unauthorized")
	check(t, "logout without a session", s.c.Logout(ctx, ""), 401, "unauthorized")
	check(t, "logout with a made-up token", s.c.Logout(ctx, "pks_"+strings.Repeat("A", 43)), 401, "unauthorized")

	// The user's other session and another user's stay.
	s.me("the user's other session", other, 200)
	s.me("another user's session", b.token, 200)
	if list := s.sessions(other); len(list) != 1 || !list[0].Current {
		t.Errorf("sessions after logout: %+v", list)
	}
	check(t, "logout of the other session", s.c.Logout(ctx, other), 204, "")
	s.me("after the second logout", other, 401)
	s.me("another user's session after both logouts", b.token, 200)
}

func testSessionsList(t *testing.T, setup Setup) {
	s := newStoreServer(t, setup, nil)
	ctx := t.Context()
	auth := passkeystest.New(Origin)
	phone := s.clientAs(auth, "e2e-phone/1.0")
	laptop := s.clientAs(auth, "e2e-laptop/2.0")

	signedUp := s.env.Clock.Now()
	first, err := phone.SignUpOrLogin(ctx, "devices-list@example.com")
	check(t, "sign-up", err, 200, "")
	if _, err := phone.AppendPasskey(ctx, first.Token); err != nil {
		t.Fatal(err)
	}
	s.env.Clock.Advance(time.Minute)
	loggedIn := s.env.Clock.Now()
	second, err := laptop.LoginWithPasskey(ctx, first.User.Email)
	check(t, "passkey login", err, 200, "")
	b := s.signUp("devices-other@example.com")

	// The exact wire form.
	r := s.do(http.MethodGet, "/auth/sessions", nil, second.Token)
	expect(t, "GET sessions", r, 200, "")
	raw, _ := r.get("sessions").([]any)
	if len(raw) != 2 {
		t.Fatalf("GET sessions: %s", r.raw)
	}
	newest, _ := raw[0].(map[string]any)
	var keys []string
	for k := range newest {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"authentication", "createdAt", "current", "id", "lastSeenAt", "userAgent"}; !slices.Equal(keys, want) {
		t.Errorf("session fields %v, want %v", keys, want)
	}
	if got, want := newest["createdAt"], loggedIn.Format(time.RFC3339); got != want {
		t.Errorf("createdAt %v, want %v", got, want)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}

	list := s.sessions(second.Token)
	want := []passkeys.SessionInfo{
		{
			CreatedAt: loggedIn, LastSeenAt: loggedIn, UserAgent: "e2e-laptop/2.0", Current: true,
			Authentication: passkeys.Authentication{Method: passkeys.MethodPasskey, At: loggedIn},
		},
		{
			CreatedAt: signedUp, LastSeenAt: signedUp, UserAgent: "e2e-phone/1.0",
			Authentication: passkeys.Authentication{Method: passkeys.MethodOTP, NewUser: true, At: signedUp},
		},
	}
	ignoreID := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ID" }, cmp.Ignore())
	if diff := cmp.Diff(want, list, ignoreID); diff != "" {
		t.Errorf("sessions, newest first (-want +got):\n%s", diff)
	}
	if list[0].ID == "" || list[1].ID == "" || list[0].ID == list[1].ID {
		t.Errorf("session IDs %q", ids(list))
	}
	for _, si := range list {
		if strings.Contains(second.Token, si.ID) || strings.Contains(first.Token, si.ID) {
			t.Errorf("a session ID is part of a token: %q", si.ID)
		}
	}

	// An autofill sign-in is recorded as such.
	tablet := s.clientAs(auth, "e2e-tablet/3.0")
	third, err := tablet.LoginWithAutofill(ctx)
	check(t, "autofill login", err, 200, "")
	if cur := current(t, s.sessions(third.Token)); cur.Authentication.Method != passkeys.MethodAutofill || cur.UserAgent != "e2e-tablet/3.0" {
		t.Errorf("the autofill session: %+v", cur)
	}
	check(t, "log the autofill session out", tablet.Logout(ctx, third.Token), 204, "")

	// From the other session: the same two, the other one current.
	fromPhone := s.sessions(first.Token)
	if !slices.Equal(ids(fromPhone), ids(list)) || current(t, fromPhone).ID != list[1].ID {
		t.Errorf("sessions seen from the first session: %+v", fromPhone)
	}

	// A request some minutes later moves the session's last-seen time.
	s.env.Clock.Advance(3 * time.Minute)
	s.me("later", first.Token, 200)
	later := s.sessions(second.Token)
	if !later[1].LastSeenAt.Equal(s.env.Clock.Now()) || !later[1].CreatedAt.Equal(signedUp) {
		t.Errorf("after a request at %v: %+v", s.env.Clock.Now(), later[1])
	}

	// Another user sees only their own.
	if others := s.sessions(b.token); len(others) != 1 || slices.Contains(ids(list), others[0].ID) || !others[0].Current {
		t.Errorf("another user's sessions: %+v", others)
	}
	_, err = s.c.Sessions(ctx, "")
	check(t, "sessions without a session", err, 401, "unauthorized")
	expect(t, "POST sessions", s.post("/auth/sessions", map[string]any{}, b.token), 405, "method_not_allowed")
}

func testRevokeSession(t *testing.T, setup Setup) {
	s := newStoreServer(t, setup, nil)
	ctx := t.Context()
	a := s.signUp("revoke@example.com")
	check(t, "add passkey", s.addPasskey(a), 200, "")
	second := s.reauthenticate(a)
	third := s.signUp(a.email).token
	b := s.signUp("revoke-other@example.com")
	list := s.sessions(a.token)
	if len(list) != 3 {
		t.Fatalf("sessions: %+v", list)
	}
	bID := current(t, s.sessions(b.token)).ID
	secondID := current(t, s.sessions(second)).ID

	// Another user's session, an unknown one and a malformed one: refused,
	// and nothing changes.
	check(t, "another user's session", s.c.RevokeSession(ctx, third, bID), 404, "not_found")
	s.me("the other user after the attempt", b.token, 200)
	check(t, "unknown session", s.c.RevokeSession(ctx, third, base64.RawURLEncoding.EncodeToString(make([]byte, 16))), 404, "not_found")
	check(t, "over-long id", s.c.RevokeSession(ctx, third, strings.Repeat("a", 300)), 400, "invalid_request")
	check(t, "without a session", s.c.RevokeSession(ctx, "", secondID), 401, "unauthorized")
	if got := s.sessions(a.token); !slices.Equal(ids(got), ids(list)) {
		t.Errorf("refused revocations changed the sessions: %+v", got)
	}

	// Another own session.
	r := s.do(http.MethodDelete, "/auth/sessions/"+secondID, nil, third)
	expect(t, "revoke another own session", r, 204, "")
	if len(r.raw) != 0 {
		t.Errorf("204 with a body: %s", r.raw)
	}
	s.me("the revoked session", second, 401)
	s.me("the session that revoked it", third, 200)
	s.me("the first session", a.token, 200)
	check(t, "revoke it again", s.c.RevokeSession(ctx, third, secondID), 404, "not_found")
	if got := s.sessions(a.token); len(got) != 2 || slices.Contains(ids(got), secondID) {
		t.Errorf("sessions after the revocation: %+v", got)
	}

	// One's own current session, long after signing in: a logout, which
	// needs no recent sign-in.
	s.env.Clock.Advance(time.Hour)
	thirdID := current(t, s.sessions(third)).ID
	check(t, "revoke the current session", s.c.RevokeSession(ctx, third, thirdID), 204, "")
	s.me("the current session after revoking itself", third, 401)
	s.me("the first session", a.token, 200)
	s.me("the other user", b.token, 200)
}

func testAccountExport(t *testing.T, setup Setup) {
	s := newStoreServer(t, setup, nil)
	ctx := t.Context()
	a := s.signUp("export@example.com")
	check(t, "add passkey", s.addPasskey(a), 200, "")
	second := s.reauthenticate(a)
	b := s.signUp("export-other@example.com")
	check(t, "B passkey", s.addPasskey(b), 200, "")

	r := s.do(http.MethodGet, "/auth/account", nil, second)
	expect(t, "GET account", r, 200, "")
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if diff := cmp.Diff(map[string]any{"id": a.id, "email": a.email}, r.get("user")); diff != "" {
		t.Errorf("account user (-want +got):\n%s", diff)
	}
	acc, err := s.c.Account(ctx, second)
	check(t, "account", err, 200, "")
	credID := base64.RawURLEncoding.EncodeToString(a.auth.Credentials()[0].ID)
	if len(acc.Passkeys) != 1 || acc.Passkeys[0].ID != credID || acc.Passkeys[0].LastUsedAt == nil {
		t.Errorf("account passkeys: %+v, want the one with ID %s, used", acc.Passkeys, credID)
	}
	if diff := cmp.Diff(s.passkeys(a), acc.Passkeys); diff != "" {
		t.Errorf("account passkeys differ from GET passkeys (-list +account):\n%s", diff)
	}
	if diff := cmp.Diff(s.sessions(second), acc.Sessions); diff != "" {
		t.Errorf("account sessions differ from GET sessions (-list +account):\n%s", diff)
	}
	if len(acc.Sessions) != 2 || current(t, acc.Sessions).Authentication.Method != passkeys.MethodPasskey {
		t.Errorf("account sessions: %+v", acc.Sessions)
	}

	// B's export holds none of A's data.
	other, err := s.c.Account(ctx, b.token)
	check(t, "B's account", err, 200, "")
	if other.User.ID != b.id || len(other.Passkeys) != 1 || other.Passkeys[0].ID == credID || len(other.Sessions) != 1 {
		t.Errorf("B's account: %+v", other)
	}
	_, err = s.c.Account(ctx, "")
	check(t, "account without a session", err, 401, "unauthorized")

	// An account without passkeys exports empty lists, not null.
	c := s.signUp("export-empty@example.com")
	r = s.do(http.MethodGet, "/auth/account", nil, c.token)
	if ps, ok := r.get("passkeys").([]any); !ok || len(ps) != 0 {
		t.Errorf("passkeys of an account without any: %s", r.raw)
	}
}

func testDeleteAccount(t *testing.T, setup Setup) {
	s := newStoreServer(t, setup, nil)
	ctx := t.Context()
	a := s.signUp("delete-me@example.com")
	check(t, "add passkey", s.addPasskey(a), 200, "")
	older := s.signUp(a.email).token
	b := s.signUp("delete-other@example.com")
	check(t, "B passkey", s.addPasskey(b), 200, "")
	pending := s.loginOptions(a)

	// A stale sign-in is refused and nothing changes.
	s.env.Clock.Advance(passkeys.DefaultReauthenticationAge + time.Second)
	check(t, "stale sign-in", s.c.DeleteAccount(ctx, a.token), 403, "reauthentication_required")
	s.me("after the refusal", a.token, 200)
	if list := s.passkeys(a); len(list) != 1 {
		t.Errorf("passkeys after the refusal: %+v", list)
	}
	check(t, "delete without a session", s.c.DeleteAccount(ctx, ""), 401, "unauthorized")

	fresh := s.reauthenticate(a)
	r := s.do(http.MethodDelete, "/auth/account", nil, fresh)
	expect(t, "delete account", r, 204, "")
	if len(r.raw) != 0 {
		t.Errorf("204 with a body: %s", r.raw)
	}
	// Every session of the account is refused, on every route.
	for i, tok := range []string{fresh, a.token, older} {
		s.me("session "+string(rune('1'+i))+" of the deleted account", tok, 401)
		_, err := s.c.Account(ctx, tok)
		check(t, "GET account of the deleted account", err, 401, "unauthorized")
		check(t, "delete again", s.c.DeleteAccount(ctx, tok), 401, "unauthorized")
	}
	// Its passkey signs in no more: not by a ceremony started before, not
	// by a new one, not by autofill.
	_, err := s.finish("login", assertion(t, a.auth, pending))
	check(t, "login started before the deletion", err, 401, "")
	cer, err := s.c.StartLogin(ctx, a.email)
	if err != nil || cer.Allowed {
		t.Errorf("login start for the deleted account: %+v, %v", cer, err)
	}
	_, err = s.finish("mediation", assertion(t, a.auth, s.mediationOptions()))
	check(t, "autofill with the deleted passkey", err, 401, "")
	// The address signs up anew, as another user.
	again, err := s.c.SignUpOrLogin(ctx, a.email)
	check(t, "sign-up with the address again", err, 200, "")
	if again.NewUser == nil || !*again.NewUser || again.User.ID == a.id {
		t.Errorf("sign-up after deletion: %+v, want a new user other than %s", again, a.id)
	}
	if acc, err := s.c.Account(ctx, again.Token); err != nil || len(acc.Passkeys) != 0 || len(acc.Sessions) != 1 {
		t.Errorf("the new account: %+v, %v", acc, err)
	}
	// The other user is untouched.
	s.me("the other user", b.token, 200)
	if _, err := b.c.LoginWithPasskey(ctx, b.email); err != nil {
		t.Errorf("the other user's passkey login: %v", err)
	}
}

func testChangeEmail(t *testing.T, setup Setup) {
	s := newStoreServer(t, setup, nil)
	ctx := t.Context()
	const oldEmail, newEmail = "before-move@example.com", "after-move@example.com"
	a := s.signUp(oldEmail)
	check(t, "add passkey", s.addPasskey(a), 200, "")
	other := s.signUp(oldEmail).token

	// Bad input changes nothing and sends nothing.
	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"bad email", `{"email":"not-an-email"}`, 400, "invalid_request"},
		{"unknown field", `{"email":"` + newEmail + `","mail":"x"}`, 400, "invalid_request"},
		{"otp not digits", `{"email":"` + newEmail + `","otp":"12a456"}`, 400, "invalid_request"},
	} {
		expect(t, c.name, s.post("/auth/account/email", c.body, a.token), c.status, c.code)
	}
	_, err := s.c.RequestEmailChange(ctx, "", newEmail)
	check(t, "without a session", err, 401, "unauthorized")
	if n := len(s.env.Mailbox.Codes(newEmail)); n != 0 {
		t.Fatalf("refused requests sent %d codes", n)
	}

	// Phase one: a code to the new address, the answer of signUpOrLogin.
	r := s.post("/auth/account/email", map[string]string{"email": " After-Move@Example.com"}, a.token)
	expect(t, "request the change", r, 200, "")
	if diff := cmp.Diff(map[string]any{"otpSent": true, "expiresInSeconds": float64(600)}, r.body); diff != "" {
		t.Errorf("request the change (-want +got):\n%s", diff)
	}
	code := s.lastCode(newEmail)
	if n := len(s.env.Mailbox.Codes(newEmail)); n != 1 {
		t.Errorf("%d codes sent to the new address, want 1", n)
	}
	_, err = s.c.SubmitEmailChange(ctx, a.token, newEmail, wrongCode(code))
	check(t, "wrong code", err, 401, "otp_invalid")
	s.me("after the wrong code", a.token, 200)

	// Phase two: the account moves, its sessions end, a new one is issued.
	sess, err := s.c.SubmitEmailChange(ctx, a.token, newEmail, code)
	check(t, "submit the code", err, 200, "")
	if sess.User.ID != a.id || sess.User.Email != newEmail || sess.Token == "" {
		t.Fatalf("email change session: %+v", sess)
	}
	s.me("the session that changed the email", a.token, 401)
	s.me("the user's other session", other, 401)
	r = s.do(http.MethodGet, "/api/me", nil, sess.Token)
	expect(t, "the new session", r, 200, "")
	if r.str("user", "email") != newEmail || r.str("user", "id") != a.id {
		t.Errorf("/api/me after the change: %s", r.raw)
	}
	if list := s.sessions(sess.Token); len(list) != 1 || list[0].Authentication.Method != passkeys.MethodOTP || list[0].Authentication.NewUser {
		t.Errorf("sessions after the change: %+v", list)
	}
	// The export shows the new address; the passkey stays with the account.
	if acc, err := s.c.Account(ctx, sess.Token); err != nil || acc.User != sess.User || len(acc.Passkeys) != 1 {
		t.Errorf("account after the change: %+v, %v", acc, err)
	}
	_, err = s.c.SubmitEmailChange(ctx, sess.Token, newEmail, code)
	check(t, "the code again", err, 401, "otp_invalid")

	// The new address signs in to the account, by code and by passkey;
	// the old one does not.
	byCode, err := s.c.SignUpOrLogin(ctx, newEmail)
	check(t, "code login with the new address", err, 200, "")
	if byCode.NewUser == nil || *byCode.NewUser || byCode.User.ID != a.id {
		t.Errorf("code login with the new address: %+v", byCode)
	}
	byPasskey, err := a.c.LoginWithPasskey(ctx, newEmail)
	check(t, "passkey login with the new address", err, 200, "")
	if byPasskey.User.ID != a.id || byPasskey.User.Email != newEmail {
		t.Errorf("passkey login with the new address: %+v", byPasskey)
	}
	if cer, err := s.c.StartLogin(ctx, oldEmail); err != nil || cer.Allowed {
		t.Errorf("login start with the old address: %+v, %v", cer, err)
	}
	byOld, err := s.c.SignUpOrLogin(ctx, oldEmail)
	check(t, "code with the old address", err, 200, "")
	if byOld.NewUser == nil || !*byOld.NewUser || byOld.User.ID == a.id {
		t.Errorf("the old address signed in to %+v, want a new account", byOld)
	}
}

func testChangeEmailTaken(t *testing.T, setup Setup) {
	s := newStoreServer(t, setup, nil)
	ctx := t.Context()
	a := s.signUp("mover@example.com")
	b := s.signUp("taken@example.com")
	s.env.Clock.Advance(time.Minute)

	free := s.post("/auth/account/email", map[string]string{"email": "free@example.com"}, a.token)
	taken := s.post("/auth/account/email", map[string]string{"email": b.email}, a.token)
	expect(t, "a free address", free, 200, "")
	expect(t, "a taken address", taken, 200, "")
	if string(free.raw) != string(taken.raw) {
		t.Errorf("answers differ: free %s, taken %s", free.raw, taken.raw)
	}
	if n := len(s.env.Mailbox.Codes(b.email)); n != 1 {
		t.Errorf("the taken address got %d codes, want only its sign-up code", n)
	}
	// Its owner's code does not move A's account there.
	_, err := s.c.SubmitEmailChange(ctx, a.token, b.email, s.lastCode(b.email))
	check(t, "the owner's code", err, 401, "otp_invalid")
	r := s.do(http.MethodGet, "/api/me", nil, a.token)
	expect(t, "A after the attempt", r, 200, "")
	if r.str("user", "email") != a.email {
		t.Errorf("A's email is now %q", r.str("user", "email"))
	}
	r = s.do(http.MethodGet, "/api/me", nil, b.token)
	expect(t, "B after the attempt", r, 200, "")
	if r.str("user", "id") != b.id || r.str("user", "email") != b.email {
		t.Errorf("B after the attempt: %s", r.raw)
	}
	// The one-call change submits the newest code for the address, its
	// owner's sign-up code, which is refused.
	_, err = s.c.ChangeEmail(ctx, a.token, b.email)
	check(t, "ChangeEmail to a taken address", err, 401, "otp_invalid")
}

func testReauthGate(t *testing.T, setup Setup) {
	s := newStoreServer(t, setup, nil)
	ctx := t.Context()
	a := s.signUp("gate@example.com")
	check(t, "add passkey", s.addPasskey(a), 200, "")
	check(t, "second passkey", s.addPasskey(s.newAccount(a.email, a.id, a.token)), 200, "")
	victim := s.signUp(a.email).token
	victimID := current(t, s.sessions(victim)).ID
	keys := s.passkeys(a)
	if len(keys) != 2 {
		t.Fatalf("passkeys: %+v", keys)
	}
	kept := keys[0].ID
	if kept == base64.RawURLEncoding.EncodeToString(a.auth.Credentials()[0].ID) {
		kept = keys[1].ID
	}

	// Within the age every operation would be allowed; past it each is
	// refused with the problem, and changes nothing.
	s.env.Clock.Advance(passkeys.DefaultReauthenticationAge + time.Second)
	stale := a.token
	check(t, "delete a passkey", s.c.DeletePasskey(ctx, stale, kept), 403, "reauthentication_required")
	check(t, "revoke another session", s.c.RevokeSession(ctx, stale, victimID), 403, "reauthentication_required")
	_, err := s.c.RequestEmailChange(ctx, stale, "gate-new@example.com")
	check(t, "change the email", err, 403, "reauthentication_required")
	check(t, "delete the account", s.c.DeleteAccount(ctx, stale), 403, "reauthentication_required")
	if n := len(s.env.Mailbox.Codes("gate-new@example.com")); n != 0 {
		t.Errorf("a refused email change sent %d codes", n)
	}
	if list := s.passkeys(a); len(list) != 2 {
		t.Errorf("passkeys after the refusals: %+v", list)
	}
	s.me("the session a refusal left alone", victim, 200)
	// The stale session still does what needs no recent sign-in.
	s.me("the stale session", stale, 200)
	if _, err := s.c.Account(ctx, stale); err != nil {
		t.Errorf("GET account with a stale sign-in: %v", err)
	}

	// Signing in again, by any flow, opens the gate.
	fresh := s.reauthenticate(a)
	check(t, "delete a passkey after signing in again", s.c.DeletePasskey(ctx, fresh, kept), 204, "")
	check(t, "revoke another session after signing in again", s.c.RevokeSession(ctx, fresh, victimID), 204, "")
	s.me("the revoked session", victim, 401)
	byCode := s.signUp(a.email).token
	_, err = s.c.RequestEmailChange(ctx, byCode, "gate-new@example.com")
	check(t, "change the email after a code sign-in", err, 200, "")
	s.env.Clock.Advance(passkeys.DefaultReauthenticationAge - time.Minute)
	check(t, "delete the account within the age", s.c.DeleteAccount(ctx, fresh), 204, "")
	s.me("after the deletion", byCode, 401)

	// A configured age applies.
	s2 := newStoreServer(t, setup, func(o *passkeys.Options) { o.ReauthenticationAge = time.Minute })
	c := s2.signUp("gate-short@example.com")
	s2.env.Clock.Advance(time.Minute + time.Second)
	check(t, "past a one-minute age", s2.c.DeleteAccount(ctx, c.token), 403, "reauthentication_required")
	// And a negative one switches the gate off.
	s3 := newStoreServer(t, setup, func(o *passkeys.Options) { o.ReauthenticationAge = -1 })
	d := s3.signUp("gate-off@example.com")
	s3.env.Clock.Advance(24 * time.Hour)
	check(t, "gate off", s3.c.DeleteAccount(ctx, d.token), 204, "")
}

// testDemoJWTSessions: with the demo JWTs, which the server does not keep,
// logout answers 204 but the token stays valid until it expires, there
// is no sessions list, the export lists no sessions, and a deleted
// account's token is refused.
func testDemoJWTSessions(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	ctx := t.Context()
	a := s.signUp("jwt-sessions@example.com")
	check(t, "logout", s.c.Logout(ctx, a.token), 204, "")
	s.me("a demo JWT after logout", a.token, 200)
	_, err := s.c.Sessions(ctx, a.token)
	check(t, "GET sessions", err, 404, "not_found")
	check(t, "DELETE sessions/{id}", s.c.RevokeSession(ctx, a.token, "x"), 404, "not_found")
	acc, err := s.c.Account(ctx, a.token)
	check(t, "GET account", err, 200, "")
	if acc.User.ID != a.id || len(acc.Sessions) != 0 {
		t.Errorf("account: %+v", acc)
	}
	check(t, "delete account", s.c.DeleteAccount(ctx, a.token), 204, "")
	s.me("the deleted account's JWT", a.token, 401)
}

func testChangeEmailRefusals(t *testing.T, setup Setup) {
	s := newStoreServer(t, setup, func(o *passkeys.Options) { o.EmailLimit = passkeys.Rate{Events: 3, Per: time.Minute} })
	ctx := t.Context()
	a := s.signUp("refusals-a@example.com")
	b := s.signUp("refusals-b@example.com")
	unchanged := func(what string, acc *account) {
		t.Helper()
		r := s.do(http.MethodGet, "/api/me", nil, acc.token)
		expect(t, what, r, 200, "")
		if r.str("user", "id") != acc.id || r.str("user", "email") != acc.email {
			t.Errorf("%s: %s, want %s %s", what, r.raw, acc.id, acc.email)
		}
	}

	// One's own address: the answer of any other, and no code.
	sent := len(s.env.Mailbox.Codes(a.email))
	own, err := s.c.RequestEmailChange(ctx, a.token, a.email)
	check(t, "change to one's own address", err, 200, "")
	if own.ExpiresIn != 10*time.Minute || len(s.env.Mailbox.Codes(a.email)) != sent {
		t.Errorf("change to one's own address: %+v, %d codes sent", own, len(s.env.Mailbox.Codes(a.email))-sent)
	}

	// A's change code is A's: B cannot use it, nor can signUpOrLogin.
	_, err = s.c.RequestEmailChange(ctx, a.token, "refusals-new@example.com")
	check(t, "A requests a change", err, 200, "")
	code := s.lastCode("refusals-new@example.com")
	_, err = s.c.SubmitEmailChange(ctx, b.token, "refusals-new@example.com", code)
	check(t, "B submits A's change code", err, 401, "otp_invalid")
	unchanged("B after submitting A's code", b)
	_, err = s.c.SubmitCode(ctx, "refusals-new@example.com", code)
	check(t, "the change code at signUpOrLogin", err, 401, "otp_invalid")

	// The address is taken between the two phases: the code no longer
	// moves A there, and the new owner keeps it.
	late := s.signUp("refusals-new@example.com")
	_, err = s.c.SubmitEmailChange(ctx, a.token, "refusals-new@example.com", code)
	check(t, "the code after the address was taken", err, 401, "otp_invalid")
	unchanged("A after the late submit", a)
	unchanged("the address's new owner", late)

	// A sign-up code is not a change code.
	s.env.Clock.Advance(time.Minute)
	check(t, "a sign-up code for a free address", s.requestCode("refusals-free@example.com"), 200, "")
	signUpCode := s.lastCode("refusals-free@example.com")
	_, err = s.c.SubmitEmailChange(ctx, a.token, "refusals-free@example.com", signUpCode)
	check(t, "a sign-up code at account/email", err, 401, "otp_invalid")
	unchanged("A after submitting a sign-up code", a)

	// Five wrong codes end a change code.
	_, err = s.c.RequestEmailChange(ctx, b.token, "refusals-guess@example.com")
	check(t, "B requests a change", err, 200, "")
	guessed := s.lastCode("refusals-guess@example.com")
	for range 5 {
		_, err = s.c.SubmitEmailChange(ctx, b.token, "refusals-guess@example.com", wrongCode(guessed))
		check(t, "wrong code", err, 401, "otp_invalid")
	}
	_, err = s.c.SubmitEmailChange(ctx, b.token, "refusals-guess@example.com", guessed)
	check(t, "the right code after five wrong ones", err, 401, "otp_invalid")
	unchanged("B after the guesses", b)

	// Requests for one address count against its per-email limit, with
	// the sign-up requests for it.
	const busy = "refusals-busy@example.com"
	s.env.Clock.Advance(time.Minute)
	check(t, "sign-up code", s.requestCode(busy), 200, "")
	for i := range 2 {
		_, err = s.c.RequestEmailChange(ctx, a.token, busy)
		check(t, "change request "+string(rune('1'+i)), err, 200, "")
	}
	_, err = s.c.RequestEmailChange(ctx, a.token, busy)
	check(t, "over the per-email limit", err, 429, "too_many_attempts")
	if retryAfter(err) == "" {
		t.Error("429 without Retry-After")
	}
	unchanged("A after the refusals", a)
}

func testConcurrentRevocations(t *testing.T, setup Setup) {
	s := newStoreServer(t, setup, nil)
	a := s.signUp("race-revoke@example.com")
	victim := s.signUp(a.email).token
	id := current(t, s.sessions(victim)).ID
	var wg sync.WaitGroup
	statuses := make([]int, 10)
	for i := range statuses {
		wg.Go(func() { statuses[i] = status(s.c.RevokeSession(t.Context(), a.token, id)) })
	}
	wg.Wait()
	slices.Sort(statuses)
	// status reports the 204 of a success as 200.
	if want := []int{200, 404, 404, 404, 404, 404, 404, 404, 404, 404}; !slices.Equal(statuses, want) {
		t.Errorf("concurrent revocations of one session: %v, want one success and nine 404s", statuses)
	}
	s.me("the revoked session", victim, 401)
	s.me("the revoking session", a.token, 200)
}

func testConcurrentEmailChanges(t *testing.T, setup Setup) {
	s := newStoreServer(t, setup, nil)
	a := s.signUp("race-move@example.com")
	const to = "race-moved@example.com"
	_, err := s.c.RequestEmailChange(t.Context(), a.token, to)
	check(t, "request the change", err, 200, "")
	code := s.lastCode(to)
	var wg sync.WaitGroup
	// Five, so that with the login below they stay within the ten checks
	// an address gets an hour.
	results := make([]error, 5)
	tokens := make([]string, 5)
	for i := range results {
		wg.Go(func() {
			sess, err := s.c.SubmitEmailChange(t.Context(), a.token, to, code)
			results[i], tokens[i] = err, sess.Token
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range results {
		switch status(err) {
		case 200:
			ok++
			r := s.do(http.MethodGet, "/api/me", nil, tokens[i])
			expect(t, "the winner's session", r, 200, "")
			if r.str("user", "email") != to || r.str("user", "id") != a.id {
				t.Errorf("the winner's session: %s", r.raw)
			}
		case 401:
			// The code was used, or the session ended by the winner.
		default:
			t.Errorf("concurrent submit: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of 5 concurrent submits of one code succeeded, want exactly 1", ok)
	}
	if byCode, err := s.c.SignUpOrLogin(t.Context(), to); err != nil || byCode.User.ID != a.id {
		t.Errorf("code login with the new address: %+v, %v", byCode, err)
	}
}

// testStoreSessionsExpire: a session unused for the idle timeout (7 days)
// is refused, and one in use ends at its absolute lifetime (30 days).
func testStoreSessionsExpire(t *testing.T, setup Setup) {
	s := newStoreServer(t, setup, nil)
	idle := s.signUp("idle@example.com")
	busy := s.signUp("busy@example.com")
	for range 4 {
		s.env.Clock.Advance(6 * 24 * time.Hour)
		s.me("a session in use", busy.token, 200)
	}
	s.me("a session unused for 24 days", idle.token, 401)
	s.env.Clock.Advance(6*24*time.Hour - time.Minute)
	s.me("a session in use at 30 days less a minute", busy.token, 200)
	s.env.Clock.Advance(time.Minute + time.Second)
	s.me("a session in use past 30 days", busy.token, 401)
	if _, err := s.c.Sessions(t.Context(), busy.token); status(err) != 401 {
		t.Errorf("sessions with the expired token: %v", err)
	}
}
